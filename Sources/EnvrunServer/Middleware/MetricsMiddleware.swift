import Hummingbird

/// Counts every request by route template (`/v1/episodes/{id}/step`, not the raw path), method and status,
/// and records its latency. Sits outside the error middleware, so it sees the final status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "NotFound"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code,
                              duration: ContinuousClock.now - start)
        return response
    }
}

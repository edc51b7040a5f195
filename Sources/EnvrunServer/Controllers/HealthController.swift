import EnvrunTasks
import Hummingbird

/// `GET /healthz`, SandboxFusion's `GET /v1/ping`, and `GET /metrics` (Prometheus text).
struct HealthController {
    let services: AppServices

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.get("/healthz") { _, _ in
            let work = services.limiter.snapshot
            return try JSONIO.response(
                HealthResponse(status: "ok", packs: services.environment.packs().map(\.name),
                               inFlight: work.inFlight, queued: work.queued))
        }
        // SandboxFusion answers the JSON string "pong".
        router.get("/v1/ping") { _, _ in try JSONIO.response("pong") }
        router.get("/metrics") { _, _ in
            services.metrics.recordWork(services.limiter.snapshot)
            if let packs = services.environment as? PackEnvironment {
                services.metrics.recordEpisodes(await packs.episodeCounts())
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: services.metrics.render())))
        }
    }
}

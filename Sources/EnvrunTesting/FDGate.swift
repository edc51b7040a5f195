/// One test at a time in the part of the suite that counts this process's fds or opens many of
/// them: every test target runs in one process, in parallel across suites, so an HTTP client or a
/// child process's pipes opened by a server test would read as a leak in a sandbox test's fd check.
/// `fdsFlat`-style checks and the tests that open sockets and pipes in this process hold it.
public actor FDGate {
    public static let shared = FDGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` while no other holder runs.
    public static func exclusive<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

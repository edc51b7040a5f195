import CEnvrunSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread per slot that runs the slot's blocking work (spawn, poll, reap).
///
/// Why a fixed thread and not a dispatch queue: the thread joins the slot's cgroups once (cgroup v1
/// lets single threads move), and a child cloned from it is born in them. Moving a process into a
/// cgroup v1 costs an RCU grace period (measured 6-16 ms on this loaded 2-core VM); inheriting
/// costs nothing.
final class SlotThread: @unchecked Sendable {
    private let cond = NSCondition()
    private var work: [() -> Void] = []
    private var stopped = false
    private var started = false
    private(set) var tid: pid_t = 0
    let name: String

    init(name: String) {
        self.name = name
        let t = Thread { [unowned self] in self.loop() }
        t.name = name
        t.stackSize = 1 << 20
        t.start()
        cond.lock()
        while !started { cond.wait() }
        cond.unlock()
    }

    func async(_ body: @escaping () -> Void) {
        cond.lock()
        work.append(body)
        cond.signal()
        cond.unlock()
    }

    /// Runs `body` on the thread and waits for it.
    func sync<T>(_ body: @escaping () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        var result: T?
        async {
            result = body()
            done.signal()
        }
        done.wait()
        return result!
    }

    /// Ends the thread after the queued work.
    func stop() {
        cond.lock()
        stopped = true
        cond.signal()
        cond.unlock()
    }

    private func loop() {
        // Foundation does not pass Thread.name to the kernel here: name it for ps, top and perf.
        envrun_set_thread_name(name)
        cond.lock()
        tid = pid_t(envrun_gettid())
        started = true
        cond.broadcast()
        cond.unlock()
        while true {
            cond.lock()
            while work.isEmpty && !stopped { cond.wait() }
            if work.isEmpty && stopped {
                cond.unlock()
                return
            }
            let item = work.removeFirst()
            cond.unlock()
            item()
        }
    }
}

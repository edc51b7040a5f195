import Foundation
import Synchronization

/// A fixed set of threads that runs the CPU-heavy part of scoring (math checks, JSON decoding of big
/// bodies, reward-model forward passes), so that it never occupies Swift's shared cooperative pool.
/// The server's light paths — `/healthz`, `/metrics`, the 429 answer of a saturated server, accepting
/// connections — keep running on the cooperative pool while every CPU thread here is busy.
///
/// Use it as a task-executor preference: `await withTaskExecutorPreference(pool) { … }` runs the body
/// and every child task it creates on these threads (until they suspend on I/O).
/// Jobs run first in, first out; the pool is never resized and lives as long as the process.
public final class CPUPool: TaskExecutor, @unchecked Sendable {
    public let threadCount: Int
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0

    /// `threads`: how many jobs run at once (default: the cores this process may use).
    public init(threads: Int = CPUPool.availableCores, name: String = "envrun-cpu") {
        threadCount = max(1, threads)
        for i in 0..<threadCount {
            let label = "\(name)-\(i)"
            let thread = Thread { [unowned self] in
                #if os(Linux)
                // The thread's name in top -H and /proc/<pid>/task/*/comm.
                try? label.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
                #endif
                self.loop()
            }
            thread.name = "\(name)-\(i)"
            thread.stackSize = 8 << 20  // the math parser recurses to its depth limit
            thread.start()
        }
    }

    /// Cores this process may use (Foundation reads the affinity mask and the cgroup's CPU quota).
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {  // compact now and then; amortised O(1)
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

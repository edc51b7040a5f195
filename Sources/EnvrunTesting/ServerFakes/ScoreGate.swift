/// Holds scoring calls until opened, so a test can fill the server's work slots deterministically
/// (no sleeps): `waitForEntered(n)` returns once n calls are parked inside `enter()`.
public actor ScoreGate {
    private var isOpen = false
    private var entered = 0
    private var parked: [CheckedContinuation<Void, Never>] = []
    private var watchers: [(Int, CheckedContinuation<Void, Never>)] = []

    public init() {}

    public func enter() async {
        entered += 1
        let ready = watchers.filter { $0.0 <= entered }
        watchers.removeAll { $0.0 <= entered }
        for (_, c) in ready { c.resume() }
        if isOpen { return }
        await withCheckedContinuation { parked.append($0) }
    }

    public func waitForEntered(_ n: Int) async {
        if entered >= n { return }
        await withCheckedContinuation { watchers.append((n, $0)) }
    }

    public func open() {
        isOpen = true
        let all = parked
        parked.removeAll()
        for c in all { c.resume() }
    }
}

// A `Duration` as the plain numbers metrics and reports use.

extension Duration {
    /// Whole nanoseconds (swift-metrics timers record these).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Milliseconds, fractional.
    public var milliseconds: Double {
        let (s, a) = components
        return Double(s) * 1000 + Double(a) / 1e15
    }
}

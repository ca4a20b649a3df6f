import Dispatch

/// A monotonic nanosecond clock. `DispatchTime` reads mach_absolute_time on Apple platforms and CLOCK_MONOTONIC on
/// Linux; neither jumps with wall-clock changes.
public protocol MonotonicClock {
    func nowNanoseconds() -> UInt64
}

public struct SystemClock: MonotonicClock {
    public init() {}
    @inline(__always) public func nowNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// Something that predicts: prepared once (compile, load, input), then called many times.
public protocol PredictionRunner: AnyObject {
    /// Compile and load; returns (compile seconds or nil when nothing was compiled, load seconds).
    func prepare() throws -> (compileSeconds: Double?, loadSeconds: Double)
    /// One inference on the input prepared once; nothing else.
    func predict() throws
    var computeUnitsDescription: String { get }
}

public struct TimingLoop {
    public let clock: MonotonicClock

    public init(clock: MonotonicClock = SystemClock()) { self.clock = clock }

    /// One untimed-body timing: the clock is read right before and right after `body` only.
    @inline(__always) public func time(_ body: () throws -> Void) rethrows -> UInt64 {
        let start = clock.nowNanoseconds()
        try body()
        return clock.nowNanoseconds() &- start
    }

    /// `warmup` untimed calls, then `rounds` rounds of `runs` timed calls. Samples in nanoseconds, per round.
    public func measure(warmup: Int, runs: Int, rounds: Int, _ body: () throws -> Void) rethrows -> [[UInt64]] {
        for _ in 0..<warmup { try body() }
        var all: [[UInt64]] = []
        all.reserveCapacity(rounds)
        for _ in 0..<rounds {
            var samples = [UInt64](repeating: 0, count: runs)
            for i in 0..<runs { samples[i] = try time(body) }
            all.append(samples)
        }
        return all
    }
}

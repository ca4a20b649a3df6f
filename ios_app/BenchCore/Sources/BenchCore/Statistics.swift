/// Statistics over per-run latencies. The host recomputes every protocol from the raw samples; these are what the
/// app shows on screen and prints in its one result line, and they must agree with bench/protocols.py.
public enum Statistics {
    public static func minimum(_ values: [Double]) -> Double? { values.min() }

    public static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    public static func standardDeviation(_ values: [Double]) -> Double? {
        guard values.count > 1, let m = mean(values) else { return nil }
        let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
        return variance.squareRoot()
    }

    /// Apple ModelBench: per round drop the lowest and highest `trimFraction` (10 of 50), average the rest; the
    /// result is the mean of the round means and the lowest/highest kept value.
    public static func trimmedRounds(_ rounds: [[Double]], trimFraction: Double = 0.2)
        -> (mean: Double, low: Double, high: Double)?
    {
        var means: [Double] = [], lows: [Double] = [], highs: [Double] = []
        for round in rounds where !round.isEmpty {
            let sorted = round.sorted()
            let cut = Int((Double(sorted.count) * trimFraction).rounded())
            let kept = sorted.count > 2 * cut ? Array(sorted[cut..<(sorted.count - cut)]) : sorted
            means.append(kept.reduce(0, +) / Double(kept.count))
            lows.append(kept.first!)
            highs.append(kept.last!)
        }
        guard let overall = mean(means) else { return nil }
        return (overall, lows.min()!, highs.max()!)
    }

    /// MobileNetV4: the median over rounds of each round's mean.
    public static func medianOfMeans(_ rounds: [[Double]]) -> Double? {
        median(rounds.compactMap { mean($0) })
    }
}

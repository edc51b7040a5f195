import Foundation

/// NeMo Gym's `/aggregate_metrics`: `{verify_responses: [...]}` → `{group_level_metrics, agent_metrics,
/// key_metrics}`. Every top-level number or bool of a verify response is a column (bools as 0/1), summarised
/// as `mean/`, `max/`, `min/`, `median/`, `std/`; groups are the rows of one `_ng_task_index`. Masked rows
/// (`mask_sample`: envrun could not check them) are left out of every statistic and counted in `masked`.
enum GymMetrics {
    struct Aggregate: Encodable, Sendable {
        var groupLevelMetrics: [[String: Double]]
        var agentMetrics: [String: Double]
        var keyMetrics: [String: Double]
        enum CodingKeys: String, CodingKey {
            case groupLevelMetrics = "group_level_metrics"
            case agentMetrics = "agent_metrics"
            case keyMetrics = "key_metrics"
        }
    }

    static func aggregate(_ body: [String: Any]) throws -> Aggregate {
        guard let rows = body["verify_responses"] as? [[String: Any]] else {
            throw APIError.invalid("the body needs verify_responses, a list of verify results", field: "verify_responses")
        }
        let kept = rows.filter { ($0["mask_sample"] as? Bool) != true }
        var groups: [Int: [[String: Any]]] = [:]
        for row in kept { groups[(row["_ng_task_index"] as? Int) ?? 0, default: []].append(row) }
        let groupMetrics = groups.keys.sorted().map { index -> [String: Double] in
            var m = summary(groups[index]!)
            m["_ng_task_index"] = Double(index)
            m["num_rollouts"] = Double(groups[index]!.count)
            return m
        }
        var agent = summary(kept)
        agent["masked"] = Double(rows.count - kept.count)
        agent["num_rollouts"] = Double(kept.count)
        return Aggregate(groupLevelMetrics: groupMetrics, agentMetrics: agent,
                         keyMetrics: agent.filter { $0.key.hasPrefix("mean/") })
    }

    static func summary(_ rows: [[String: Any]]) -> [String: Double] {
        var columns: [String: [Double]] = [:]
        for row in rows {
            for (key, value) in row where !key.hasPrefix("_ng_") && key != "mask_sample" {
                if let v = number(value) { columns[key, default: []].append(v) }
            }
        }
        var out: [String: Double] = [:]
        for (key, values) in columns where !values.isEmpty {
            let sorted = values.sorted()
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.count > 1
                ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
            let mid = sorted.count / 2
            out["mean/\(key)"] = mean
            out["max/\(key)"] = sorted.last!
            out["min/\(key)"] = sorted.first!
            out["median/\(key)"] = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
            out["std/\(key)"] = variance.squareRoot()
        }
        return out
    }

    /// A JSON number or bool (NSNumber from JSONSerialization; a bool's objCType is "c").
    static func number(_ value: Any) -> Double? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        return d.isFinite ? d : nil
    }
}

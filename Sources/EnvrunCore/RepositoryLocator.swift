import Foundation

/// Finds a folder of the repository (`Sandbox/`, `Tasks/`, …) the way every envrun command does: from the
/// working directory and from the executable's directory (so `.build/debug/envrun` finds the checkout it was
/// built from), each searched upwards through its parents. Environment overrides are the caller's business.
public enum RepositoryLocator {
    /// The working directory and the directory of the running executable (resolved through /proc/self/exe).
    public static var defaultStarts: [URL] {
        let fm = FileManager.default
        var starts = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        } else if let first = CommandLine.arguments.first {
            starts.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        return starts
    }

    /// The first `start/…/relative` for which `accept` holds, trying each start and then its parents, at most
    /// `levels` directories per start (nil: up to the root).
    public static func find(
        _ relative: String, from starts: [URL] = defaultStarts, levels: Int? = nil, where accept: (URL) -> Bool
    ) -> URL? {
        for start in starts {
            var dir = start.standardizedFileURL
            var level = 0
            while levels.map({ level < $0 }) ?? true {
                let candidate = dir.appendingPathComponent(relative)
                if accept(candidate) { return candidate }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
                level += 1
            }
        }
        return nil
    }
}

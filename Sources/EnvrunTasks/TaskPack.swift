import EnvrunCore
import Foundation

/// One loaded pack: its manifest, its tasks (prompts as stored, before the template) and where it lives.
public struct TaskPack: Sendable {
    public var manifest: PackManifest
    public var tasks: [TaskSpec]
    public var directory: URL
    let index: [String: Int]

    public init(manifest: PackManifest, tasks: [TaskSpec], directory: URL) {
        self.manifest = manifest
        self.tasks = tasks
        self.directory = directory
        var index: [String: Int] = [:]
        for (i, t) in tasks.enumerated() where index[t.id] == nil { index[t.id] = i }
        self.index = index
    }

    public var name: String { manifest.name }

    public func task(id: String) -> TaskSpec? { index[id].map { tasks[$0] } }

    public var info: PackInfo {
        PackInfo(
            name: manifest.name, version: manifest.version, description: manifest.description,
            license: manifest.license, verifier: manifest.reward.verifier.rawValue, taskCount: tasks.count,
            multiTurn: manifest.multiTurn)
    }

    /// The task as the model sees it: the prompt passed through the pack's template.
    public func rendered(_ task: TaskSpec) -> TaskSpec {
        var t = task
        t.prompt = manifest.render(prompt: task.prompt)
        return t
    }

    /// Loads `pack.yaml` and the task file of one pack folder. A relative `reward.model` is resolved
    /// against the pack folder, then against the folder that holds the packs folder (the repository root).
    public static func load(directory: URL) throws -> TaskPack {
        let manifestURL = directory.appendingPathComponent("pack.yaml")
        let yaml: String
        do {
            yaml = try String(contentsOf: manifestURL, encoding: .utf8)
        } catch {
            throw EnvrunError(.io, "cannot read \(manifestURL.path): \(error.localizedDescription)", field: "pack.yaml")
        }
        var manifest = try ManifestParser.parse(yaml: yaml, file: "\(directory.lastPathComponent)/pack.yaml")
        if let model = manifest.reward.scalarRM?.model {
            manifest.reward.scalarRM?.model = resolveModel(model, packDirectory: directory)
        }
        let tasks = try TaskFile.read(directory.appendingPathComponent(manifest.tasksFile))
        return TaskPack(manifest: manifest, tasks: tasks, directory: directory)
    }

    static func resolveModel(_ model: String, packDirectory: URL) -> String {
        if model.hasPrefix("/") || model.contains("://") { return model }
        let candidates = [
            packDirectory.appendingPathComponent(model),
            packDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(model),
        ]
        let found = candidates.first { FileManager.default.fileExists(atPath: $0.path) }
        return (found ?? candidates[1]).standardizedFileURL.path
    }
}

/// Finds and loads the packs of a directory.
public enum PackLibrary {
    /// The sub-folders of `directory` that hold a `pack.yaml`, sorted by name.
    public static func packDirectories(in directory: URL) throws -> [URL] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw EnvrunError(.notFound, "no packs directory at \(directory.path)", field: "packs")
        }
        let entries = try fm.contentsOfDirectory(atPath: directory.path).sorted()
        return entries.map { directory.appendingPathComponent($0) }
            .filter { fm.fileExists(atPath: $0.appendingPathComponent("pack.yaml").path) }
    }

    /// Loads every pack; the first broken pack is an error naming it. Pack names must be unique.
    public static func load(directory: URL) throws -> [TaskPack] {
        var packs: [TaskPack] = []
        var names: [String: URL] = [:]
        for dir in try packDirectories(in: directory) {
            let pack = try TaskPack.load(directory: dir)
            if let other = names[pack.name] {
                throw EnvrunError(
                    .invalidInput, "pack name \"\(pack.name)\" is used by both \(other.lastPathComponent) and \(dir.lastPathComponent)",
                    field: "name")
            }
            names[pack.name] = dir
            packs.append(pack)
        }
        return packs
    }

    /// The default packs directory: `Tasks/` in the current directory or one of its parents, else next to
    /// the executable or one of its parents (so `.build/debug/envrun` finds the repository's `Tasks/`).
    /// `ENVRUN_PACKS` overrides both.
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        executable: URL = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
    ) -> URL? {
        if let override = environment["ENVRUN_PACKS"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return RepositoryLocator.find("Tasks", from: [currentDirectory, executable.deletingLastPathComponent()], levels: 6) {
            !((try? packDirectories(in: $0))?.isEmpty ?? true)
        }
    }
}

import EnvrunCore
import EnvrunJudge
import EnvrunRewards
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

    /// Loads `pack.yaml` and the task file of one pack folder under `limits` (see `PackLimits`); what
    /// passes a cap is refused with an error naming the file. A relative `reward.model` is resolved
    /// against the pack folder, then against the folder that holds the packs folder (the repository root);
    /// wherever it points, after symlinks it must be inside the pack folder, the repository's `Models/`
    /// or one of `limits.modelRoots`, and so must every entry of the model folder.
    public static func load(directory: URL, limits: PackLimits = .default) throws -> TaskPack {
        let pack = directory.lastPathComponent
        let manifestName = "\(pack)/pack.yaml"
        guard let root = PackFiles.realPath(directory.path) else {
            throw EnvrunError(.io, "cannot read \(directory.path): no such folder", field: "pack.yaml")
        }
        let manifestPath = try PackFiles.inside(root, "pack.yaml", display: manifestName, field: "pack.yaml")
        let yaml = try PackFiles.text(manifestPath, display: manifestName, maxBytes: limits.manifestBytes, field: "pack.yaml")
        var manifest = try ManifestParser.parse(yaml: yaml, file: manifestName, limits: limits)
        if let model = manifest.reward.scalarRM?.model {
            manifest.reward.scalarRM?.model = try resolveModel(
                model, packDirectory: directory, packRoot: root, limits: limits, manifest: manifestName)
        }
        if var judge = manifest.reward.generativeRM {
            if let meta = judge.metaModel {
                judge.metaModel = try resolveModel(
                    meta, packDirectory: directory, packRoot: root, limits: limits, manifest: manifestName)
            }
            judge.template = try loadTemplate(judge.templateReference, packRoot: root, manifest: manifestName)
            manifest.reward.generativeRM = judge
        }
        let tasksName = "\(pack)/\(manifest.tasksFile)"
        let tasksPath = try PackFiles.inside(root, manifest.tasksFile, display: tasksName, field: "tasks")
        // The rendered size of every prompt, from the template's fixed part and its copies of the prompt.
        let copies = PackManifest.placeholders(in: manifest.promptTemplate)
        let fixed = manifest.promptTemplate.utf8.count - copies * PackManifest.placeholder.utf8.count
        let tasks = try TaskFile.read(URL(fileURLWithPath: tasksPath), name: tasksName, limits: limits) { task in
            if let route = task.route, RouteKind(rawValue: route) == nil {
                return ("route", "must be \(RouteKind.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(route)\")")
            }
            let rendered = fixed + copies * task.prompt.utf8.count
            guard rendered > limits.renderedPromptBytes else { return nil }
            return (
                "prompt",
                "the prompt as rendered by prompt_template is \(rendered) bytes, over the limit of "
                    + "\(PackLimits.bytes(limits.renderedPromptBytes)); refused"
            )
        }
        return TaskPack(manifest: manifest, tasks: tasks, directory: directory)
    }

    /// `reward.judge.template`: a shipped template by name, or a file inside the pack (a path).
    static func loadTemplate(_ reference: String, packRoot: String, manifest: String) throws -> JudgeTemplate {
        do {
            if reference.contains("/") || reference.hasSuffix(".yaml") {
                let path = try PackFiles.inside(packRoot, reference, display: reference, field: "reward.judge.template")
                // Read as every pack file is read (regular files only, bounded), and refuse YAML aliases.
                let text = try PackFiles.text(path, display: reference, maxBytes: 256 * 1024, field: "reward.judge.template")
                try YAMLAliases.reject(in: text, file: reference)
                return try JudgeTemplate.parse(yaml: text, file: reference)
            }
            return try JudgeTemplate.load(reference)
        } catch let error as EnvrunError {
            throw EnvrunError(error.code, "\(manifest): reward.judge.template: \(error.message)", field: "reward.judge.template")
        }
    }

    /// Where `reward.model` points. A URL (`://`) is not a path and is left to the reward model factory.
    static func resolveModel(
        _ model: String, packDirectory: URL, packRoot: String, limits: PackLimits, manifest: String
    ) throws -> String {
        if model.contains("://") { return model }
        let repository = packDirectory.deletingLastPathComponent().deletingLastPathComponent()
        let candidates =
            model.hasPrefix("/")
            ? [URL(fileURLWithPath: model)]
            : [packDirectory.appendingPathComponent(model), repository.appendingPathComponent(model)]
        let roots =
            [packRoot, PackFiles.resolved(repository.appendingPathComponent("Models").path)]
            + limits.modelRoots.map { PackFiles.resolved($0) }
        func allowed(_ real: String) -> Bool { roots.contains { PackFiles.isInside(real, $0) } }
        func refuse(_ what: String, _ real: String) -> EnvrunError {
            EnvrunError(
                .invalidInput,
                "\(manifest): reward.model \"\(model)\": \(what) resolves to \(real), outside the pack folder, the "
                    + "repository's Models/ and any configured model folder (\(roots.joined(separator: ", "))); refused",
                field: "reward.model")
        }
        let fm = FileManager.default
        guard let found = candidates.first(where: { fm.fileExists(atPath: $0.path) }) else {
            // Not there (yet): the repository's place if allowed, else the pack's (`pack validate` reports
            // it missing, naming where it looked).
            let paths = candidates.map(\.standardizedFileURL.path)
            guard let path = paths.reversed().first(where: { allowed(PackFiles.resolved($0)) }) else {
                throw refuse("it", PackFiles.resolved(paths[0]))
            }
            return path
        }
        let path = found.standardizedFileURL.path
        let real = PackFiles.resolved(path)
        guard allowed(real) else { throw refuse("it", real) }
        // The files of a model folder (head, weights, tokenizer...) must not lead outside either.
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: real, isDirectory: &isDirectory), isDirectory.boolValue {
            for entry in (try? fm.contentsOfDirectory(atPath: real)) ?? [] {
                let file = PackFiles.resolved(real + "/" + entry)
                guard allowed(file) else { throw refuse(entry, file) }
            }
        }
        return path
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

    /// Loads every pack; the first broken pack (a hostile one too: see `PackLimits`) is an error naming
    /// its file, so a server never starts without a pack it was given. Pack names must be unique.
    public static func load(directory: URL, limits: PackLimits = .default) throws -> [TaskPack] {
        var packs: [TaskPack] = []
        var names: [String: URL] = [:]
        for dir in try packDirectories(in: directory) {
            let pack = try TaskPack.load(directory: dir, limits: limits)
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

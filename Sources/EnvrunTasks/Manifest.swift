import EnvrunCore
import EnvrunRewards
import Foundation

/// A pack's `pack.yaml`, parsed and checked. See README section "Task packs" for the schema.
public struct PackManifest: Sendable, Equatable {
    public var name: String
    public var version: String
    public var description: String
    public var license: String
    /// Where the data came from (free text; details go in SOURCE.md).
    public var source: String
    /// The task file, relative to the pack folder: `.jsonl` or `.jsonl.gz`.
    public var tasksFile: String
    /// How a task's prompt is shown to the model; `{{prompt}}` is replaced by the task's prompt.
    public var promptTemplate: String
    public var reward: RewardSpec
    /// For generated packs: how the task file was made (`envrun pack validate` regenerates and compares).
    public var generator: GeneratorSpec?

    public init(
        name: String, version: String, description: String, license: String, source: String,
        tasksFile: String, promptTemplate: String = "{{prompt}}", reward: RewardSpec, generator: GeneratorSpec? = nil
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.license = license
        self.source = source
        self.tasksFile = tasksFile
        self.promptTemplate = promptTemplate
        self.reward = reward
        self.generator = generator
    }

    public var multiTurn: Bool { reward.maxTurns > 1 }

    /// The prompt the model sees for a task.
    public func render(prompt: String) -> String {
        promptTemplate.replacingOccurrences(of: "{{prompt}}", with: prompt)
    }

    static let placeholder = "{{prompt}}"

    /// How many times `template` contains `{{prompt}}` (as `render` replaces them: left to right, no overlap).
    static func placeholders(in template: String) -> Int {
        template.components(separatedBy: placeholder).count - 1
    }
}

/// The generator section of a generated pack's manifest.
public struct GeneratorSpec: Sendable, Equatable {
    public var name: String
    public var arith: ArithParameters
    public init(name: String, arith: ArithParameters) {
        self.name = name
        self.arith = arith
    }
}

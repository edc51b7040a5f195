/// Caps on what a pack's files may hold, checked while the pack loads, so a hostile or broken pack is
/// refused with an error naming the file (and the line) instead of exhausting memory at start-up or making
/// every request slow. Each default is at least 100 times what the largest shipped pack needs (2.5 MB
/// decompressed, 2,353 lines, lines up to 10 KB, prompts up to 4.3 KB, one `{{prompt}}` per template).
public struct PackLimits: Sendable, Equatable {
    /// Bytes of `pack.yaml` (a real manifest is under 2 KB).
    public var manifestBytes = 1 << 20
    /// Bytes of a task file as stored and, for `.jsonl.gz`, after decompression: the gzip-bomb cap.
    /// Decompression streams and stops here; it never holds the whole file.
    public var taskFileBytes = 256 << 20
    /// Bytes of one line of a task file, refused before the line is held whole.
    public var lineBytes = 4 << 20
    /// Lines of a task file, blank ones included (a newline bomb), and so also tasks.
    public var lines = 1_000_000
    /// Bytes of `prompt_template`.
    public var templateBytes = 64 << 10
    /// How many times `prompt_template` may contain `{{prompt}}` (each copy multiplies the prompt).
    public var templatePlaceholders = 4
    /// Bytes of one prompt as the model sees it (after the template), checked for every task at load.
    public var renderedPromptBytes = 1 << 20
    /// Bytes of one page of the task listing: a page stops before it would pass this (it always holds at
    /// least one task); the caller pages on from the offset it got to.
    public var pageBytes = 16 << 20
    /// Folders a reward model may live in besides the pack's own folder and the repository's `Models/`
    /// (the `Models/` next to the packs folder). Paths are compared after resolving symlinks.
    public var modelRoots: [String] = []

    public init() {}

    public static let `default` = PackLimits()

    /// `256 MiB (268435456 bytes)`: what error messages say about a cap.
    static func bytes(_ n: Int) -> String {
        let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, unit) in units where n >= size && n % size == 0 {
            return "\(n / size) \(unit) (\(n) bytes)"
        }
        return "\(n) bytes"
    }
}

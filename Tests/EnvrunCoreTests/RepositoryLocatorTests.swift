import Foundation
import Testing

@testable import EnvrunCore

@Suite("RepositoryLocator")
struct RepositoryLocatorTests {
    /// root/Tasks/marker and root/a/b/c (the start).
    func tree() throws -> (root: URL, start: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-locator-\(UUID().uuidString)")
        let start = root.appendingPathComponent("a/b/c")
        try FileManager.default.createDirectory(at: start, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Tasks"), withIntermediateDirectories: true)
        try "x".write(to: root.appendingPathComponent("Tasks/marker"), atomically: true, encoding: .utf8)
        return (root, start)
    }

    func hasMarker(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("marker").path)
    }

    @Test func findsTheFolderInAParentOfTheStart() throws {
        let (root, start) = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        let found = RepositoryLocator.find("Tasks", from: [start], where: hasMarker)
        #expect(found?.standardizedFileURL.path == root.appendingPathComponent("Tasks").standardizedFileURL.path)
    }

    @Test func respectsTheLevelLimit() throws {
        let (root, start) = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        // start = root/a/b/c: root is 3 levels up, so 3 levels (c, b, a) are not enough and 4 are.
        #expect(RepositoryLocator.find("Tasks", from: [start], levels: 3, where: hasMarker) == nil)
        #expect(RepositoryLocator.find("Tasks", from: [start], levels: 4, where: hasMarker) != nil)
    }

    @Test func aFolderWithoutTheMarkerIsNotAccepted() throws {
        let (root, start) = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(RepositoryLocator.find("Tasks", from: [start], where: { _ in false }) == nil)
        #expect(RepositoryLocator.find("Nope", from: [start], where: hasMarker) == nil)
    }
}

import EnvrunCore

/// A doubly linked recency list threaded through an array of links (slot numbers, -1 for none): the
/// least recently used at `head`, the most recent at `tail`. It does not own the slots, so two lists can
/// thread the same slots through link arrays of their own.
struct RecencyList {
    struct Links {
        var prev = -1
        var next = -1
    }

    private(set) var head = -1
    private(set) var tail = -1
    private(set) var count = 0

    mutating func append(_ slot: Int, _ links: inout [Links]) {
        links[slot] = Links(prev: tail, next: -1)
        if tail >= 0 { links[tail].next = slot } else { head = slot }
        tail = slot
        count += 1
    }

    mutating func remove(_ slot: Int, _ links: inout [Links]) {
        let l = links[slot]
        if l.prev >= 0 { links[l.prev].next = l.next } else { head = l.next }
        if l.next >= 0 { links[l.next].prev = l.prev } else { tail = l.prev }
        links[slot] = Links()
        count -= 1
    }

    mutating func moveToTail(_ slot: Int, _ links: inout [Links]) {
        guard tail != slot else { return }
        remove(slot, &links)
        append(slot, &links)
    }
}

/// The open episodes with two recency orders over one slab: all of them (for the global cap and for
/// expiry from the cold end) and each client's own (for its quota). Every operation is O(1), amortised
/// for the dictionaries; nothing walks or copies the table.
struct EpisodeTable {
    private var slots: [Episode?] = []
    private var allLinks: [RecencyList.Links] = []
    private var clientLinks: [RecencyList.Links] = []
    private var freeSlots: [Int] = []
    private var slotOf: [String: Int] = [:]
    private var all = RecencyList()
    private var clients: [ClientKey: RecencyList] = [:]

    var count: Int { all.count }
    /// Clients with at least one open episode.
    var clientCount: Int { clients.count }
    func count(of client: ClientKey) -> Int { clients[client]?.count ?? 0 }

    func episode(_ id: String) -> Episode? { slotOf[id].flatMap { slots[$0] } }

    /// The least recently used episode of all.
    var coldest: Episode? { all.head >= 0 ? slots[all.head] : nil }

    /// The least recently used episode of `client`.
    func coldest(of client: ClientKey) -> Episode? {
        guard let head = clients[client]?.head, head >= 0 else { return nil }
        return slots[head]
    }

    /// Adds a new episode as the most recently used (its id must not be stored yet).
    mutating func insert(_ episode: Episode) {
        precondition(slotOf[episode.id] == nil, "episode \(episode.id) is already stored")
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = episode
        } else {
            slot = slots.count
            slots.append(episode)
            allLinks.append(RecencyList.Links())
            clientLinks.append(RecencyList.Links())
        }
        slotOf[episode.id] = slot
        all.append(slot, &allLinks)
        clients[episode.client, default: RecencyList()].append(slot, &clientLinks)
    }

    /// Replaces a stored episode and makes it the most recently used. False (and nothing stored) when
    /// the episode is gone: evicted or expired while its step was scored.
    @discardableResult
    mutating func update(_ episode: Episode) -> Bool {
        guard let slot = slotOf[episode.id] else { return false }
        slots[slot] = episode
        all.moveToTail(slot, &allLinks)
        clients[episode.client]?.moveToTail(slot, &clientLinks)
        return true
    }

    @discardableResult
    mutating func remove(_ id: String) -> Episode? {
        guard let slot = slotOf.removeValue(forKey: id), let episode = slots[slot] else { return nil }
        all.remove(slot, &allLinks)
        clients[episode.client]?.remove(slot, &clientLinks)
        if clients[episode.client]?.count == 0 { clients[episode.client] = nil }
        slots[slot] = nil
        freeSlots.append(slot)
        return episode
    }
}

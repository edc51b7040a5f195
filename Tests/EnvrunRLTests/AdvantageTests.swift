import Testing
@testable import EnvrunRL

@Suite("GRPO advantages against hand-computed values")
struct AdvantageTests {
    func close(_ a: [Double], _ b: [Double], tol: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol }
    }

    @Test func verlGroupNormalisation() {
        // Group 0: 1, 0, 0, 1 → mean 0.5, unbiased std sqrt(1/3) = 0.577350...; group 1: 2, 4 → mean 3, std √2.
        let a = Advantages.outcome(scores: [1, 0, 0, 1, 2, 4], groups: [0, 0, 0, 0, 1, 1], convention: .verl)
        let s0 = (1.0 / 3).squareRoot() + 1e-6, s1 = 2.0.squareRoot() + 1e-6
        #expect(close(a, [0.5 / s0, -0.5 / s0, -0.5 / s0, 0.5 / s0, -1 / s1, 1 / s1]))
        #expect(abs(a[0] - 0.8660239) < 1e-6)
    }

    @Test func verlGroupOfOneKeepsItsReward() {
        let a = Advantages.outcome(scores: [0.7, 1, 1], groups: [5, 6, 6], convention: .verl)
        // mean 0, std 1: 0.7 / (1 + 1e-6); the all-equal group is 0.
        #expect(close(a, [0.7 / (1 + 1e-6), 0, 0]))
    }

    @Test func drGRPOOnlyCentres() {
        let a = Advantages.outcome(scores: [1, 0, 0, 0], groups: [0, 0, 0, 0], convention: .drGRPO)
        #expect(close(a, [0.75, -0.25, -0.25, -0.25]))
    }

    @Test func trlScalings() {
        let scores = [1.0, 0, 3, 5], groups = [0, 0, 1, 1]
        // group: (1−0.5)/(0.7071+1e-4) ...
        let g = Advantages.outcome(scores: scores, groups: groups, convention: .trl)
        let sg = 0.5.squareRoot() + 1e-4, sg1 = 2.0.squareRoot() + 1e-4
        #expect(close(g, [0.5 / sg, -0.5 / sg, -1 / sg1, 1 / sg1]))
        // batch: the std of all four (mean 2.25, ss = 1.5625+5.0625+0.5625+7.5625 = 14.75, /3).
        let b = Advantages.outcome(scores: scores, groups: groups, convention: AdvantageConvention(style: .trl, scaling: .batch))
        let sb = (14.75 / 3).squareRoot() + 1e-4
        #expect(close(b, [0.5 / sb, -0.5 / sb, -1 / sb, 1 / sb]))
        let n = Advantages.outcome(scores: scores, groups: groups, convention: AdvantageConvention(style: .trl, scaling: .none))
        #expect(close(n, [0.5, -0.5, -1, 1]))
        // TRL: a group of one has advantage 0 (its own mean), unlike verl.
        #expect(Advantages.outcome(scores: [0.7], groups: [0], convention: .trl) == [0])
    }

    @Test func processRewardsNormalisedOverTheGroupAndSummedFromEachToken() {
        // One group, two responses: steps [1, 0] ending at tokens 1 and 3 of 4; [1] ending at token 2 of 3.
        // All step rewards 1, 0, 1: mean 2/3, unbiased std sqrt(1/3).
        let a = Advantages.process(
            stepRewards: [[1, 0], [1]], stepEnds: [[1, 3], [2]], lengths: [4, 3], groups: [0, 0], convention: .verl)
        let s = (1.0 / 3).squareRoot() + 1e-6
        let r1 = (1 - 2.0 / 3) / s, r0 = (0 - 2.0 / 3) / s
        // Tokens 0 and 1 see both steps; tokens 2 and 3 only the second.
        #expect(close(a[0], [r1 + r0, r1 + r0, r0, r0]))
        #expect(close(a[1], [r1, r1, r1]))
    }

    @Test func processTokensAfterTheLastStepGetZero() {
        let a = Advantages.process(
            stepRewards: [[2], [0]], stepEnds: [[0], [0]], lengths: [3, 1], groups: [0, 0], convention: .drGRPO)
        #expect(close(a[0], [1, 0, 0]))
        #expect(close(a[1], [-1]))
    }

    @Test func discountedShapingAndDynamicSampling() {
        #expect(close(Advantages.perToken(2, length: 3, discount: 0.5), [0.5, 1, 2]))
        #expect(Advantages.perToken(2, length: 2) == [2, 2])
        #expect(Advantages.groupsWithSpread(scores: [1, 1, 0, 1, 0.5, 0.5], groups: [0, 0, 1, 1, 2, 2]) == [1])
    }
}

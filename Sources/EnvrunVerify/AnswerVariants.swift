import Foundation

/// Other readings of an extracted answer, tried only when the answer as written does not match: a decimal
/// comma (`2500,75`) and units after a value (`12 cm²`, `60\text{ km/h}`, `\$18`). Each reading is one that
/// a grader makes without a second thought, and none can turn a wrong value into a right one.
enum AnswerVariants {
    /// `0,25` or `2500,75` as a decimal when the gold is one number: a comma before other than three digits
    /// (or after a lone 0) is not a thousands separator. `1,000` stays one thousand.
    static func decimalComma(_ answer: String) -> String? {
        let t = answer.trimmingSpaces
        guard let comma = t.firstIndex(of: ","), t.lastIndex(of: ",") == comma else { return nil }
        let whole = t[..<comma], frac = t[t.index(after: comma)...]
        let digits = whole.hasPrefix("-") ? whole.dropFirst() : whole[...]
        guard !digits.isEmpty, !frac.isEmpty, digits.allSatisfy(\.isASCIIDigit), frac.allSatisfy(\.isASCIIDigit)
        else { return nil }
        guard frac.count != 3 || digits == "0" else { return nil }
        return whole + "." + frac
    }

    /// Does a decimal in the text end in 0 (`3.14160`)? Then its written places are not its value's places.
    static func hasTrailingZeroDecimal(_ text: String) -> Bool {
        let u = Array(text.utf8)
        var k = 0
        while k < u.count {
            guard u[k] == UInt8(ascii: "."), k > 0, u[k - 1] >= 48, u[k - 1] <= 57 else { k += 1; continue }
            var j = k + 1
            while j < u.count, u[j] >= 48, u[j] <= 57 { j += 1 }
            if j > k + 1, u[j - 1] == UInt8(ascii: "0") { return true }
            k = j
        }
        return false
    }

    static let unitWords: [String] = [
        "cm", "mm", "km", "dm", "m", "kg", "mg", "g", "lb", "lbs", "oz", "ml", "mL", "l", "L", "s", "sec", "secs",
        "seconds", "second", "min", "mins", "minutes", "minute", "h", "hr", "hrs", "hours", "hour", "days", "day",
        "weeks", "week", "years", "year", "mph", "kph", "ft", "feet", "foot", "in", "inch", "inches", "yd", "yards",
        "yard", "mi", "miles", "mile", "units", "unit", "meters", "meter", "metres", "metre", "centimeters",
        "centimeter", "kilometers", "kilometer", "liters", "liter", "litres", "litre", "grams", "gram",
        "kilograms", "kilogram", "degrees", "degree", "dollars", "dollar", "cents", "cent", "square", "sq",
        "cubic", "km/h", "m/s", "cm/s", "km/hr", "mi/h",
    ].sorted { $0.count > $1.count }

    /// The unit-free value of `12 cm²`, `5\,\mathrm{m}`, `60\text{ km/h}`, `\$18`, `45^\circ`, `18 dollars`;
    /// nil when nothing was stripped or no value is left.
    static func withoutUnits(_ answer: String) -> String? {
        var t = answer.trimmingSpaces
        // Most answers have no unit: only a value that ends in a letter, `}` or a unit sign, or starts with a
        // currency sign, is looked at further.
        guard let end = t.last, let start = t.first,
            end.isLetter || "}²³°%".contains(end) || "\\$€£U".contains(start) else { return nil }
        let original = t
        for prefix in ["\\$", "$", "€", "£", "USD"] where t.hasPrefix(prefix) { t = String(t.dropFirst(prefix.count)).trimmingSpaces }
        var changed = true
        while changed {
            changed = false
            t = t.trimmingSpaces
            for spacing in ["\\,", "\\;", "\\:", "\\!", "\\ ", "~"] where t.hasSuffix(spacing) {
                t = String(t.dropLast(spacing.count))
                changed = true
            }
            for degree in ["^\\circ", "^{\\circ}", "°", "\\circ"] where t.hasSuffix(degree) {
                t = String(t.dropLast(degree.count))
                changed = true
            }
            // A power only on a unit (`cm^2`, `\text{m}^3`): after a number it is an exponent (`2^{2}` is 4).
            for power in ["^2", "^3", "^{2}", "^{3}", "²", "³"] where t.hasSuffix(power) {
                let before = String(t.dropLast(power.count))
                guard endsWithUnit(before) else { continue }
                t = before
                changed = true
            }
            if t.hasSuffix("}"), let open = matchingOpen(t), let command = textCommand(before: open, in: t) {
                let inner = String(t[t.index(after: open)..<t.index(before: t.endIndex)]).trimmingSpaces
                guard unitWords.contains(where: { unitPhrase(inner, startsWith: $0) }) else { break }
                t = String(t[..<command])
                changed = true
                continue
            }
            for word in unitWords where t.hasSuffix(word) {
                let before = t.dropLast(word.count)
                guard let last = before.last, !last.isLetter, last != "\\" else { continue }
                t = String(before)
                changed = true
                break
            }
        }
        t = t.trimmingSpaces
        guard t != original, !t.isEmpty, t.contains(where: \.isASCIIDigit), !t.contains(where: { $0.isLetter && $0 != "e" })
        else { return nil }
        return t
    }

    /// Does `t` end with a unit word (not part of a longer word or a command) or a `\text{unit}` group?
    static func endsWithUnit(_ t: String) -> Bool {
        if t.hasSuffix("}"), let open = matchingOpen(t), textCommand(before: open, in: t) != nil { return true }
        return unitWords.contains { word in
            guard t.hasSuffix(word) else { return false }
            let before = t.dropLast(word.count)
            guard let last = before.last else { return false }
            return !last.isLetter && last != "\\"
        }
    }

    /// `km/h`, `cm^2`, `square meters`: a unit word, then powers, slashes and more unit words.
    static func unitPhrase(_ s: String, startsWith word: String) -> Bool {
        guard s.hasPrefix(word) else { return false }
        let rest = s.dropFirst(word.count)
        return rest.allSatisfy { !$0.isLetter } || rest.first == " " || rest.first == "/" || rest.first == "^"
    }

    /// The `{` matching a final `}`.
    static func matchingOpen(_ t: String) -> String.Index? {
        var level = 0
        var k = t.index(before: t.endIndex)
        while true {
            if t[k] == "}" { level += 1 }
            if t[k] == "{" { level -= 1; if level == 0 { return k } }
            if k == t.startIndex { return nil }
            k = t.index(before: k)
        }
    }

    /// The start of `\text`, `\mathrm`, `\textrm`, `\mbox` right before `open`.
    static func textCommand(before open: String.Index, in t: String) -> String.Index? {
        for c in ["\\text", "\\mathrm", "\\textrm", "\\mbox", "\\textnormal", "\\operatorname"] {
            let head = t[..<open]
            if head.hasSuffix(c) { return t.index(open, offsetBy: -c.count) }
        }
        return nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

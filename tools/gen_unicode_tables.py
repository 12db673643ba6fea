#!/usr/bin/env python3
# gen_unicode_tables.py: writes src/tokenizers/{unicode_tables,unicode_nfd_tables,html_entities,
# text_fix_tables}.cpp, the Unicode and HTML data the tokenizers need, from this python3's unicodedata
# and html modules (what the reference tokenizers ran on).
# Usage: python3 tools/gen_unicode_tables.py [FILE.cpp ...]   (no argument: all of them)
import html
import html.entities
import os
import sys
import unicodedata as ud

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "tokenizers")
HANGUL = range(0xAC00, 0xD7A4)  # decomposed algorithmically in unicode_text.cpp


def ranges(pred):
    out, start = [], None
    for cp in range(0x110001):
        inside = cp < 0x110000 and pred(cp)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


def regex_classes():
    # CLIP's split pattern runs on the third-party `regex` module with IGNORECASE; its Unicode data
    # can be newer than unicodedata's and case-insensitive classes differ (U+0345 matches none of
    # them). Take \\p{L}, \\p{N} and the unmatched code points from it when installed, as the
    # peers run it; else from unicodedata.
    try:
        import regex
    except ImportError:
        return "unicodedata", category_in("L"), category_in("N"), lambda cp: False
    flags = regex.IGNORECASE
    letter = regex.compile(r"[\p{L}]", flags)
    number = regex.compile(r"[\p{N}]", flags)
    other = regex.compile(r"[^\s\p{L}\p{N}]", flags)
    space = regex.compile(r"\s", flags)
    def unmatched(cp):
        c = chr(cp)
        return not any(p.match(c) for p in (letter, number, other, space))
    return ("regex " + regex.__version__, lambda cp: letter.match(chr(cp)) is not None,
            lambda cp: number.match(chr(cp)) is not None, unmatched)


def category_in(*prefixes):
    return lambda cp: ud.category(chr(cp)).startswith(prefixes)


def is_cased(cp):
    c = chr(cp)
    return c.islower() or c.isupper() or ud.category(c) == "Lt"


def is_case_ignorable(cp):
    # Probed through str.lower()'s final-sigma rule, so it matches what lower() does exactly.
    c = chr(cp)
    return ("A" + c + "\u03a3").lower()[-1] == "\u03c2" and ("A\u03a3" + c).lower()[1] == "\u03c2"


def lower_runs():
    # (lo, hi, stride, delta): every stride-th code point in [lo, hi] lowers to cp + delta.
    single = {}
    for cp in range(0x110000):
        low = chr(cp).lower()
        if cp != 0x3A3 and low != chr(cp):
            if len(low) != 1:
                continue  # multi code point results: kLowerSpecial
            single[cp] = ord(low) - cp
    runs, cps = [], sorted(single)
    i = 0
    while i < len(cps):
        lo, delta, stride, j = cps[i], single[cps[i]], 1, i
        if i + 1 < len(cps) and single[cps[i + 1]] == delta and cps[i + 1] - lo <= 2:
            stride = cps[i + 1] - lo
            while j + 1 < len(cps) and cps[j + 1] - cps[j] == stride and single[cps[j + 1]] == delta:
                j += 1
        runs.append((lo, cps[j], stride, delta))
        i = j + 1
    special = [(cp, chr(cp).lower()) for cp in range(0x110000)
               if cp != 0x3A3 and len(chr(cp).lower()) > 1]
    return runs, special


def decompositions():
    out = []
    for cp in range(0x110000):
        d = ud.decomposition(chr(cp))
        if d and not d.startswith("<"):
            parts = [int(x, 16) for x in d.split()]
            out.append((cp, parts[0], parts[1] if len(parts) > 1 else 0))
    return out


def ccc_ranges():
    out = []
    for lo, hi in ranges(lambda cp: ud.combining(chr(cp)) != 0):
        start = lo
        for cp in range(lo, hi + 2):
            if cp > hi or ud.combining(chr(cp)) != ud.combining(chr(start)):
                out.append((start, cp - 1, ud.combining(chr(start))))
                start = cp
    return out


def emit_array(ctype, name, rows, width=116):
    lines, line = ["const %s %s[] = {" % (ctype, name)], ""
    for row in rows:
        if line and len(line) + 1 + len(row) > width - 4:
            lines.append("    " + line)
            line = ""
        line = row if not line else line + " " + row
    lines.append("    " + line)
    lines.append("};")
    lines.append("const size_t %sSize = sizeof(%s) / sizeof(%s[0]);" % (name, name, name))
    return lines


def emit_string(name, entries, width=116):
    lines, chunk = ["const char* const %s =" % name], ""
    for e in entries:
        assert " " not in e and '"' not in e and "\\" not in e, e
        if len(chunk) + len(e) > width - 8:
            lines.append('    "%s"' % chunk)
            chunk = ""
        chunk += e + " "
    lines.append('    "%s";' % chunk)
    return lines


def range_rows(rs):
    return ["{0x%X, 0x%X}," % r for r in rs]


def reorder(cps, classes):
    # Canonical ordering: swap adjacent marks while ccc(a) > ccc(b) > 0.
    for i in range(1, len(cps)):
        j = i
        while j > 0 and classes.get(cps[j], 0) and classes.get(cps[j - 1], 0) > classes.get(cps[j], 0):
            cps[j - 1], cps[j] = cps[j], cps[j - 1]
            j -= 1


def check_nfd(decomp, ccc):
    # Re-runs the C++ algorithm in python over every code point against unicodedata.
    table = {cp: (a, b) for cp, a, b in decomp}
    classes = {}
    for lo, hi, c in ccc:
        for cp in range(lo, hi + 1):
            classes[cp] = c

    def dec(cp, out):
        if cp in table:
            a, b = table[cp]
            dec(a, out)
            if b:
                dec(b, out)
        else:
            out.append(cp)

    for cp in range(0x110000):
        if cp in HANGUL or 0xD800 <= cp <= 0xDFFF:
            continue
        out = []
        dec(cp, out)
        reorder(out, classes)
        if "".join(map(chr, out)) != ud.normalize("NFD", chr(cp)):
            sys.exit("NFD check failed at U+%04X" % cp)


def unicode_tables():
    runs, special = lower_runs()
    source, is_letter, is_number, is_unmatched = regex_classes()
    tables = [
        ("kLetterRanges", ranges(is_letter)),
        ("kNumberRanges", ranges(is_number)),
        ("kUnmatchedRanges", ranges(is_unmatched)),
        ("kSpaceRanges", ranges(lambda cp: chr(cp).isspace())),
        ("kSpaceSeparatorRanges", ranges(category_in("Zs"))),
        ("kControlFormatRanges", ranges(category_in("Cc", "Cf"))),
        ("kPunctuationRanges", ranges(category_in("P"))),
        ("kNonspacingMarkRanges", ranges(category_in("Mn"))),
        ("kCasedRanges", ranges(is_cased)),
        ("kCaseIgnorableRanges", ranges(is_case_ignorable)),
    ]
    lines = [
        "// unicode_tables.cpp: GENERATED by tools/gen_unicode_tables.py from python3 unicodedata %s;"
        % ud.unidata_version,
        "// do not edit. Character classes and the mappings of str.lower(); CLIP's classes from %s."
        % source,
        '#include "tokenizers/unicode_tables.h"',
        "",
        "namespace pangu_draw::tokenizers::unicode {",
        "",
        'const char* const kUnicodeVersion = "%s";' % ud.unidata_version,
    ]
    for name, rs in tables:
        lines += emit_array("CodeRange", name, range_rows(rs))
    lines += emit_array("CaseRun", "kLowerRuns",
                        ["{0x%X, 0x%X, %d, %d}," % r for r in runs])
    lines += emit_array("LowerSpecial", "kLowerSpecial",
                        ["{0x%X, {%s}}," % (cp, ", ".join("0x%X" % ord(c) for c in s))
                         for cp, s in special])
    lines += ["", "}  // namespace pangu_draw::tokenizers::unicode"]
    return lines


def nfd_tables():
    decomp, ccc = decompositions(), ccc_ranges()
    check_nfd(decomp, ccc)
    lines = [
        "// unicode_nfd_tables.cpp: GENERATED by tools/gen_unicode_tables.py from python3 unicodedata",
        "// %s; do not edit. Canonical combining classes and one-level canonical decompositions." % ud.unidata_version,
        '#include "tokenizers/unicode_tables.h"',
        "",
        "namespace pangu_draw::tokenizers::unicode {",
        "",
    ]
    lines += emit_array("ClassRange", "kCombiningClassRanges",
                        ["{0x%X, 0x%X, %d}," % r for r in ccc])
    lines.append("// 'CP=FIRST[+SECOND]' (hex) separated by spaces.")
    lines += emit_string("kDecompositions", ["%X=%X" % (cp, a) + ("+%X" % b if b else "")
                                             for cp, a, b in decomp])
    lines += ["", "}  // namespace pangu_draw::tokenizers::unicode"]
    return lines


def html_tables():
    entries = ["%s=%s" % (name, "+".join("%X" % ord(c) for c in value))
               for name, value in sorted(html.entities.html5.items())]
    lines = [
        "// html_entities.cpp: GENERATED by tools/gen_unicode_tables.py from python3's html module;",
        "// do not edit. The HTML5 named references and numeric fix-ups html.unescape() uses.",
        '#include "tokenizers/html_entities.h"',
        "",
        "namespace pangu_draw::tokenizers::html {",
        "",
        "// 'name=HEX[+HEX]' separated by spaces; names keep their ';' where the standard has one.",
    ]
    lines += emit_string("kNamedEntities", entries)
    lines += emit_array("CharRefFix", "kInvalidCharRefs",
                        ["{0x%X, 0x%X}," % (k, ord(v)) for k, v in sorted(html._invalid_charrefs.items())])
    lines += emit_array("char32_t", "kInvalidCodePoints",
                        ["0x%X," % c for c in sorted(html._invalid_codepoints)])
    lines += ["", "}  // namespace pangu_draw::tokenizers::html"]
    return lines


def composition_exclusions():
    # Code points with a two-character canonical decomposition that NFC does not recompose
    # (script-specific and post-composition-version exclusions, non-starter decompositions).
    out = []
    for cp, a, b in decompositions():
        if b and ud.normalize("NFC", chr(cp)) != chr(cp):
            out.append(cp)
    return out


def check_nfc(excluded):
    # Re-runs the C++ composition (text_fix_nfc.cpp) in python over every code point's NFD.
    pairs = {(a, b): cp for cp, a, b in decompositions() if b and cp not in set(excluded)}

    def compose(a, b):
        if 0x1100 <= a <= 0x1112 and 0x1161 <= b <= 0x1175:
            return 0xAC00 + ((a - 0x1100) * 21 + b - 0x1161) * 28
        if 0xAC00 <= a <= 0xD7A3 and (a - 0xAC00) % 28 == 0 and 0x11A8 <= b <= 0x11C2:
            return a + b - 0x11A7
        return pairs.get((a, b))

    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        out, starter = [], -1
        for c in map(ord, ud.normalize("NFD", chr(cp))):
            cc = ud.combining(chr(c))
            if starter >= 0 and (len(out) - 1 == starter or 0 < ud.combining(chr(out[-1])) < cc):
                composed = compose(out[starter], c)
                if composed is not None:
                    out[starter] = composed
                    continue
            if cc == 0:
                starter = len(out)
            out.append(c)
        if "".join(map(chr, out)) != ud.normalize("NFC", chr(cp)):
            sys.exit("NFC check failed at U+%04X" % cp)


def ftfy_upper_entities():
    # ftfy's unescape_html also decodes the upper-case spelling of a lower-case HTML5 name that
    # ends in ';' (&EACUTE; -> \u00c9), when html.unescape() leaves that spelling alone.
    out = []
    for name, value in sorted(html.entities.html5.items()):
        upper = "&" + name.upper()
        if name.endswith(";") and name == name.lower() and html.unescape(upper) == upper:
            out.append("%s=%s" % (name.upper(), "+".join("%X" % ord(c) for c in value.upper())))
    return out


def text_fix_tables():
    width = [(0x3000, " ")] + [(cp, ud.normalize("NFKC", chr(cp))) for cp in range(0xFF01, 0xFFF0)
                               if ud.normalize("NFKC", chr(cp)) != chr(cp)]
    assert all(1 <= len(v) <= 2 for _, v in width)
    c1 = []
    for b in range(0x80, 0xA0):
        try:
            c1.append(ord(bytes([b]).decode("cp1252")))
        except UnicodeDecodeError:
            c1.append(b)  # holes of windows-1252 stay as they are (ftfy's sloppy-windows-1252)
    excluded = composition_exclusions()
    check_nfc(excluded)
    lines = [
        "// text_fix_tables.cpp: GENERATED by tools/gen_unicode_tables.py from python3 unicodedata %s"
        % ud.unidata_version,
        "// and html; do not edit. The data of ftfy.fix_text's fixes (text_fix.cpp) and of NFC.",
        '#include "tokenizers/text_fix_tables.h"',
        "",
        "namespace pangu_draw::tokenizers::text_fix {",
        "",
    ]
    lines += emit_array("WidthMapping", "kWidthMap",
                        ["{0x%X, {%s}}," % (cp, ", ".join("0x%X" % ord(c) for c in v))
                         for cp, v in width])
    lines += emit_array("char32_t", "kC1Windows1252", ["0x%X," % c for c in c1])
    lines += emit_array("unicode::CodeRange", "kDecimalRanges",
                        range_rows(ranges(lambda cp: chr(cp).isdecimal())))
    lines += emit_array("char32_t", "kCompositionExclusions", ["0x%X," % c for c in excluded])
    lines.append("// 'NAME;=HEX[+HEX]' separated by spaces.")
    lines += emit_string("kUpperEntities", ftfy_upper_entities())
    lines += ["", "}  // namespace pangu_draw::tokenizers::text_fix"]
    return lines


def main():
    generators = {"unicode_tables.cpp": unicode_tables, "unicode_nfd_tables.cpp": nfd_tables,
                  "html_entities.cpp": html_tables, "text_fix_tables.cpp": text_fix_tables}
    names = sys.argv[1:] or list(generators)
    for name in names:
        if name not in generators:
            sys.exit("unknown table file %s; known: %s" % (name, " ".join(generators)))
    for name in names:
        lines = generators[name]()
        path = os.path.join(ROOT, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print("wrote %s (%d lines)" % (os.path.normpath(path), len(lines)))


if __name__ == "__main__":
    main()

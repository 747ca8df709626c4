"""Site signatures that survive a release: how `unclosed diff` knows a leak site of one build
is the same site in the next, although its line numbers moved and its package was renamed.

A frame `com.acme.shaded.v1.codec.GzipCodec.compress(GzipCodec.java:12)` is reduced to
`GzipCodec.compress`: no package (shading and relocation change it), no file and line (any
edit above moves it), lambda and anonymous-class numbers dropped (`lambda$run$3` is
`lambda$run`, `Server$2` is `Server$*`). A site's signature is the simple name of its kind and
the reduced frames from the culprit down (the culprit and its callers, SIGNATURE_FRAMES in
all): `GZIPOutputStream@GzipCodec.compress<Server.handle<Server.work`. JDK frames above the
culprit (`Deflater.<init>`, ...) are left out: they change with the JDK, and the kind says
what they are.

Sites whose signatures differ may still be the same leak (a method renamed, a caller added):
`similarity` scores a pair from 0 to 1 on kind, culprit and callers.

A gate's baseline keys a site more strictly and more simply (`baseline_key`): its full kind and
its culprit frame without the line number.
"""

import difflib
import hashlib
import re

SIGNATURE_FRAMES = 3  # the culprit and two callers
CONTEXT_FRAMES = 8  # frames from the culprit down that a similarity score compares
MIN_SCORE = 0.6  # the least similarity that matches two sites whose signatures differ
JDK_PACKAGES = ("java.", "javax.", "jdk.", "sun.", "com.sun.")

_FRAME = re.compile(r"^(?P<cls>[^()]*)\.(?P<method>[^.()]+)(?:\((?P<where>[^()]*)\))?$")


def parse_frame(frame: str) -> tuple[str, str, str | None, int | None]:
    """`pkg.Class.method(File.java:12)` -> ("pkg.Class", "method", "File.java", 12)."""
    match = _FRAME.match(frame or "")
    if not match:
        return "", frame or "", None, None
    file, line = None, None
    where = match["where"] or ""
    if ":" in where:
        file, _, number = where.rpartition(":")
        line = int(number) if number.isdigit() else None
    elif where:
        file = where
    return match["cls"], match["method"], file, line


def line_of(frame: str | None) -> int | None:
    return parse_frame(frame)[3] if frame else None


def reduce_frame(frame: str) -> str:
    """The part of a frame that survives a release: `SimpleClass.method`."""
    cls, method, _, _ = parse_frame(frame)
    simple = cls.rpartition(".")[2]
    simple = re.sub(r"\$\$Lambda.*$", "$$Lambda", simple)       # hidden lambda classes
    simple = re.sub(r"\$\$([A-Za-z]+)\$\$\w+", r"$$\1", simple)  # CGLIB/ByteBuddy proxies
    simple = re.sub(r"\$\d+(?=\$|$)", "$*", simple)             # anonymous classes
    method = re.sub(r"^(lambda\$[^$]+)\$\d+$", r"\1", method)
    return f"{simple}.{method}" if simple else method


def simple_kind(kind: str | None) -> str:
    return (kind or "?").rpartition(".")[2]


def is_jdk(frame: str) -> bool:
    return frame.startswith(JDK_PACKAGES)


def culprit_index(site: dict) -> int:
    """Where the culprit is in the site's frames (top first): the first frame outside the JDK."""
    frames = site.get("frames") or []
    culprit = site.get("culprit")
    if culprit and culprit in frames:
        return frames.index(culprit)
    for i, frame in enumerate(frames):
        if not is_jdk(frame):
            return i
    return 0


def chain(site: dict, depth: int = SIGNATURE_FRAMES) -> list[str]:
    """The site's frames from the culprit down, `depth` of them, as recorded."""
    frames = site.get("frames") or []
    if not frames and site.get("culprit"):
        frames = [site["culprit"]]
    start = culprit_index(site)
    return frames[start:start + depth]


def signature(site: dict, depth: int = SIGNATURE_FRAMES) -> str:
    """`GZIPOutputStream@GzipCodec.compress<Server.handle<Server.work`."""
    return f"{simple_kind(site.get('kind'))}@" + "<".join(reduce_frame(f) for f in chain(site, depth))


def baseline_key(site: dict) -> str:
    """What a baseline matches a site on: survives line-number changes, not renames.
    `java.util.zip.GZIPOutputStream @ com.acme.Codec.compress`."""
    culprit = re.sub(r"\(.*\)$", "", site["culprit"] or "") or (site["frames"] or ["?"])[0]
    return f"{site['kind']} @ {culprit}"


def signature_id(text: str) -> str:
    """A short stable name of a signature, for scripts and baselines."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def similarity(old: dict, new: dict) -> float:
    """How alike two creation sites are, 0 to 1: the kind (0.2; 0.1 for the same family), the
    culprit's reduced frame (0.4; 0.25 for the same method of another class, 0.2 for another
    method of the same class) and the callers below it (0.4 times the share of reduced frames
    that line up). Sites of different families never match (0)."""
    if (old.get("family") or None) != (new.get("family") or None):
        return 0.0
    score = 0.2 if simple_kind(old.get("kind")) == simple_kind(new.get("kind")) else 0.1
    old_chain = [reduce_frame(f) for f in chain(old, CONTEXT_FRAMES)]
    new_chain = [reduce_frame(f) for f in chain(new, CONTEXT_FRAMES)]
    if old_chain and new_chain:
        a, b = old_chain[0], new_chain[0]
        if a == b:
            score += 0.4
        elif a.rpartition(".")[2] == b.rpartition(".")[2]:
            score += 0.25
        elif a.rpartition(".")[0] == b.rpartition(".")[0]:
            score += 0.2
        callers_old, callers_new = old_chain[1:], new_chain[1:]
        if callers_old or callers_new:
            score += 0.4 * difflib.SequenceMatcher(None, callers_old, callers_new, autojunk=False).ratio()
        else:
            score += 0.4  # no callers on either side: nothing disagrees
    return round(score, 3)


def evidence(old: dict, new: dict, how: str, score: float, depth: int = SIGNATURE_FRAMES) -> dict:
    """What a match rests on: the frames from the culprit down, old against new, aligned by
    their reduced form; `same` says whether they agree once reduced."""
    length = depth if how == "signature" else CONTEXT_FRAMES
    old_chain, new_chain = chain(old, length), chain(new, length)
    old_keys = [reduce_frame(f) for f in old_chain]
    new_keys = [reduce_frame(f) for f in new_chain]
    frames = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False).get_opcodes():
        if op == "equal":
            frames += [{"as": old_keys[i], "old": old_chain[i], "new": new_chain[j], "same": True}
                       for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(olds), len(news))):
            i = olds[k] if k < len(olds) else None
            j = news[k] if k < len(news) else None
            frames.append({"as": None,
                           "old": old_chain[i] if i is not None else None,
                           "new": new_chain[j] if j is not None else None, "same": False})
    return {
        "by": how, "score": score,
        "signature": {"old": signature(old, depth), "new": signature(new, depth)},
        "kind": {"old": old.get("kind"), "new": new.get("kind")},
        "culprit": {"old": old.get("culprit"), "new": new.get("culprit")},
        "frames": frames,
    }

"""The paper's Appendix B programs parse, and we label them under latent on and off.

The strings are copied from Appendix B with the PDF's line-wrap breaks removed (e.g.
``(zMig - mxMlpAi\\n    )`` -> ``(zMig - mxMlpAi)``). The paper's own labels
(B.1 ['84', '47', '-48', '86', '36'], B.2 ['94', '13', '30615', '2', '2'], B.3 ['18', '18',
'90', '77', '-24']) are not asserted: they came from a pipeline whose labels do not follow
its own programs (B.2's first program copies 98 + 26 and prints it, yet is labelled 94),
and most of them depend on global values the paper does not list.

The expected values below were worked out by hand from docs/languages.md section 3 (working in
the comments): with latent types on, an operand starting with a-w is doubled and one
starting with x-z is floor-halved; copies and prints use the stored value.
"""

from __future__ import annotations

import pytest

from lolameme.languages import BASE_LATENT, NO_LATENT, evaluate, parse, render

# Globals listed in Appendix B.1, plus our own values for every other name the programs
# read without assigning (the paper does not give those).
PAPER_GLOBALS = {
    "tmrGk": 24, "znmani": 8, "glkpJ": 34, "pBW": 56, "yAW": 50, "yumY": 92, "qqbsV": 33,
    "mH": 26, "vDU": 98, "grKwxk": 94, "yqfG": 20, "xiQu": 4, "ybU": 36, "xvsnsOp": 81,
}  # fmt: skip
OUR_GLOBALS = {
    "yI": 17, "aL": 5, "dVfa": 40, "xvHMi": 9, "eTbZX": 12, "zjEy": 3, "zG": 70, "yCHe": 61,
    "dnmQTvq": 15, "wJyl": 27, "ztjz": 44, "zMig": 31, "mxMlpAi": 6, "pmxO": 19, "kgD": 2,
    "xqX": 13, "pltjL": 7, "dJVgt": 21, "kNd": 11, "mIW": 64, "yMWB": 10, "vKa": 88,
    "tBi": 23, "mZj": 5, "qhhFVb": 3, "kDN": 14, "xaQeVwz": 50, "qklUazeme": 7, "yNM": 9,
    "wSTCa": 4, "ywP": 8, "rqnDmId": 30, "pFzd": 12, "ehL": 100, "yNOkq": 37, "dCE": 45,
    "jvL": 8,
}  # fmt: skip
GLOBALS = {**PAPER_GLOBALS, **OUR_GLOBALS}

# (program, label with latent off, label with latent on)
APPENDIX_B = [
    # B.1 training set
    (  # last xnbolt = 84 % xvHMi: off 84 % 9 = 3; on 84 % (9 // 2) = 84 % 4 = 0
        "tmrGk = 24;xnbolt = 77;xnbolt = (yI % aL);oZ = (dVfa - tmrGk);"
        "xnbolt = (84 % xvHMi);print(xnbolt)",
        3,
        0,
    ),
    (  # fIgLd = yCHe is a copy: 61 either way
        "fIgLd = eTbZX;xnbolt = (76 * zjEy);oZ = (zG - 45);znmani = 8;fIgLd = yCHe;print(fIgLd)",
        61,
        61,
    ),
    (  # lsok = zMig - mxMlpAi: off 31 - 6 = 25; on 31 // 2 - 6 * 2 = 15 - 12 = 3
        "lsok = (dnmQTvq + wJyl);glkpJ = 34;xnbolt = ztjz;lsok = (zMig - mxMlpAi);"
        "xYBr = (pmxO + kgD);print(lsok)",
        25,
        3,
    ),
    (  # fIgLd = mIW is a copy: 64
        "lsok = xqX;fIgLd = (yAW + pltjL);xAkt = (dJVgt + kNd);pBW = 56;fIgLd = mIW;print(fIgLd)",
        64,
        64,
    ),
    (  # bHJFL = ybU % mxMlpAi: off 36 % 6 = 0; on (36 // 2) % (6 * 2) = 18 % 12 = 6
        "yAW = 50;pcbZAu = (eTbZX + yMWB);lsok = kNd;bHJFL = vKa;bHJFL = (ybU % mxMlpAi);"
        "print(bHJFL)",
        0,
        6,
    ),
    # B.2 test set without globals (no global needed)
    (  # xYBr copies bHJFL = 98 + 26 = 124 (literals are never modified)
        "bHJFL = (98 + 26);xYBr = bHJFL;oZ = (xYBr + bHJFL);bHJFL = (67 * 96);print(xYBr)",
        124,
        124,
    ),
    ("oZ = (3 - 61);xnbolt = (75 * 62);oZ = 10;baKfrFf = (oZ * 14);print(oZ)", 10, 10),
    (  # xYBr = 33 - xnbolt: off 33 - 18 = 15; on 33 - 18 // 2 = 24; lsok copies it
        "xnbolt = 18;xYBr = (33 - xnbolt);lsok = xYBr;oZ = 41;print(lsok)",
        15,
        24,
    ),
    ("xAkt = 18;xAkt = (60 + 36);baKfrFf = 83;oZ = 94;print(baKfrFf)", 83, 83),
    (  # lsok % lsok is 42 % 42 (off) or 84 % 84 (on): no error; the printed value is 53
        "baKfrFf = (60 - 18);lsok = baKfrFf;pcbZAu = (lsok % lsok);pcbZAu = 53;print(pcbZAu)",
        53,
        53,
    ),
    # B.3 test set with globals
    ("pcbZAu = tBi;lsok = mZj;xYBr = (qhhFVb * vDU);baKfrFf = kDN;print(pcbZAu)", 23, 23),
    (  # fuB = tBi % qklUazeme: off 23 % 7 = 2; on 46 % 14 = 4
        "fuB = (xaQeVwz % yMWB);pcbZAu = pmxO;fuB = (tBi % qklUazeme);xnbolt = znmani;print(fuB)",
        2,
        4,
    ),
    ("xYBr = mxMlpAi;xYBr = mxMlpAi;oZ = (qhhFVb - yNM);bHJFL = tmrGk;print(xYBr)", 6, 6),
    (  # pcbZAu = ybU + rqnDmId: off 36 + 30 = 66; on 18 + 60 = 78
        "xYBr = (qqbsV + vDU);xAkt = (wSTCa * ywP);xAkt = 76;pcbZAu = (ybU + rqnDmId);"
        "print(pcbZAu)",
        66,
        78,
    ),
    (  # fuB = ehL - yNOkq: off 100 - 37 = 63; on 200 - 37 // 2 = 182
        "bHJFL = (pFzd * 91);fuB = (ehL - yNOkq);xAkt = (dCE % jvL);xnbolt = xaQeVwz;print(fuB)",
        63,
        182,
    ),
]


@pytest.mark.parametrize(("text", "off", "on"), APPENDIX_B)
def test_appendix_b_labels(text: str, off: int, on: int) -> None:
    program = parse(text)
    assert render(program) == text  # the paper's spacing is the generator's spacing
    assert evaluate(program, GLOBALS, NO_LATENT) == off
    assert evaluate(program, GLOBALS, BASE_LATENT) == on


@pytest.mark.parametrize(("text", "off", "on"), APPENDIX_B)
def test_appendix_b_in_meme(text: str, off: int, on: int) -> None:
    program = parse(render(parse(text), "meme"))
    assert evaluate(program, GLOBALS, NO_LATENT) == off
    assert evaluate(program, GLOBALS, BASE_LATENT) == on

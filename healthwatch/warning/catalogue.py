"""The built-in source types and the syndrome / disease catalogue of the early-warning platform.

Why a fixed catalogue: every feed row names a source and a syndrome by code, and a typo
("fever_clinc") must be refused at the door instead of silently creating a new series that no
detection configuration watches. Codes are stable ASCII identifiers; names are Chinese first.

Sources follow the "multi-point triggers" of Liaoning's plan (专栏 5): notifiable case reports
(NNDRS), fever and intestinal clinics, pharmacies (antipyretic, cough, antidiarrhoeal medicine
sales), school and kindergarten absenteeism by symptom, port and station screening, laboratory
positives.

Diseases carry their CIDARS rule (Yang W et al., WPSAR 2011;2(1):10-15): ``fixed`` diseases
(plague, cholera, SARS, polio, human avian influenza, pulmonary anthrax, pneumonia of unknown
cause ...) signal on a single case; ``mpm`` diseases use the moving percentile method, with the
reported optimal percentile where one is known.

>>> SOURCES["fever_clinic"].name_zh, SYNDROMES["cholera"].cidars
('发热门诊就诊', 'fixed')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SOURCES", "SYNDROMES", "Source", "Syndrome", "single_case_codes"]


@dataclass(frozen=True)
class Source:
    """A kind of feed: who reports, in which unit."""

    code: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str


@dataclass(frozen=True)
class Syndrome:
    """A syndrome (from clinics, pharmacies, schools) or a notifiable disease.

    cidars: ``"fixed"`` (signal on one case), ``"mpm"`` (moving percentile) or None (a syndrome,
    watched with EARS by default). percentile: CIDARS's reported optimum for mpm diseases.
    """

    code: str
    name_zh: str
    name_en: str
    kind: str  # "syndrome" or "disease"
    cidars: str | None = None
    percentile: float | None = None


_SOURCES = [
    Source("notifiable", "法定传染病报告", "notifiable case reports (NNDRS)", "例", "cases"),
    Source("fever_clinic", "发热门诊就诊", "fever-clinic visits", "人次", "visits"),
    Source("intestinal_clinic", "肠道门诊就诊", "intestinal-clinic visits", "人次", "visits"),
    Source(
        "pharmacy_antipyretic",
        "药店退热药销售",
        "pharmacy sales of antipyretics",
        "盒",
        "packs",
    ),
    Source("pharmacy_cough", "药店止咳药销售", "pharmacy sales of cough medicines", "盒", "packs"),
    Source(
        "pharmacy_antidiarrhoeal",
        "药店止泻药销售",
        "pharmacy sales of antidiarrhoeals",
        "盒",
        "packs",
    ),
    Source("school_absence", "中小学因病缺课", "school absenteeism by symptom", "人", "pupils"),
    Source(
        "kindergarten_absence",
        "托幼机构因病缺勤",
        "kindergarten absenteeism by symptom",
        "人",
        "children",
    ),
    Source(
        "port_screening",
        "口岸（机场、港口）筛查阳性",
        "port and airport screening positives",
        "人",
        "persons",
    ),
    Source("station_screening", "车站筛查阳性", "station screening positives", "人", "persons"),
    Source("laboratory", "实验室检测阳性", "laboratory positives", "份", "specimens"),
]

#: source code -> Source
SOURCES: dict[str, Source] = {s.code: s for s in _SOURCES}


def _s(code: str, zh: str, en: str) -> Syndrome:
    return Syndrome(code, zh, en, "syndrome")


def _d(code: str, zh: str, en: str, cidars: str = "mpm", pct: float | None = None) -> Syndrome:
    return Syndrome(code, zh, en, "disease", cidars, pct)


_SYNDROMES = [
    # syndromes (clinics, pharmacies, schools, screening)
    _s("fever", "发热", "fever"),
    _s("ili", "流感样病例", "influenza-like illness"),
    _s("respiratory", "呼吸道症状", "respiratory symptoms"),
    _s("cough", "咳嗽", "cough"),
    _s("diarrhoea", "腹泻", "diarrhoea"),
    _s("vomiting", "呕吐", "vomiting"),
    _s("rash", "皮疹", "rash"),
    _s("conjunctivitis", "结膜炎（红眼）", "conjunctivitis (red eye)"),
    _s("fever_rash", "发热伴皮疹", "fever with rash"),
    _s("jaundice", "黄疸", "jaundice"),
    # CIDARS fixed-threshold diseases: one case signals
    _d("plague", "鼠疫", "plague", "fixed"),
    _d("cholera", "霍乱", "cholera", "fixed"),
    _d("sars", "传染性非典型肺炎", "SARS", "fixed"),
    _d("polio", "脊髓灰质炎", "poliomyelitis", "fixed"),
    _d(
        "avian_influenza",
        "人感染高致病性禽流感",
        "human highly pathogenic avian influenza",
        "fixed",
    ),
    _d("anthrax_pulmonary", "肺炭疽", "pulmonary anthrax", "fixed"),
    _d("pneumonia_unknown", "不明原因肺炎", "pneumonia of unknown cause", "fixed"),
    _d("diphtheria", "白喉", "diphtheria", "fixed"),
    _d("h7n9", "人感染H7N9禽流感", "human infection with avian influenza H7N9", "fixed"),
    # CIDARS moving percentile diseases (percentiles: the reported optima where known)
    _d("influenza", "流行性感冒", "influenza", "mpm", 75),
    _d("hfmd", "手足口病", "hand, foot and mouth disease", "mpm", 75),
    _d("mumps", "流行性腮腺炎", "mumps", "mpm", 80),
    _d("chickenpox", "水痘", "chickenpox", "mpm", 75),
    _d("scarlet_fever", "猩红热", "scarlet fever", "mpm", 80),
    _d("rubella", "风疹", "rubella", "mpm", 45),
    _d("measles", "麻疹", "measles"),
    _d("bacillary_dysentery", "细菌性痢疾", "bacillary dysentery"),
    _d("other_infectious_diarrhoea", "其他感染性腹泻病", "other infectious diarrhoea"),
    _d("typhoid", "伤寒和副伤寒", "typhoid and paratyphoid fever"),
    _d("hepatitis_a", "甲型肝炎", "hepatitis A"),
    _d("hepatitis_e", "戊型肝炎", "hepatitis E"),
    _d("hfrs", "肾综合征出血热", "haemorrhagic fever with renal syndrome"),
    _d("brucellosis", "布鲁氏菌病", "brucellosis"),
    _d("scrub_typhus", "恙虫病", "scrub typhus"),
    _d("dengue", "登革热", "dengue"),
    _d("pertussis", "百日咳", "pertussis"),
    _d("covid19", "新型冠状病毒感染", "COVID-19"),
    _d(
        "acute_haemorrhagic_conjunctivitis", "急性出血性结膜炎", "acute haemorrhagic conjunctivitis"
    ),
    _d("meningococcal_meningitis", "流行性脑脊髓膜炎", "meningococcal meningitis"),
    _d("japanese_encephalitis", "流行性乙型脑炎", "Japanese encephalitis"),
]

#: syndrome or disease code -> Syndrome
SYNDROMES: dict[str, Syndrome] = {s.code: s for s in _SYNDROMES}


def single_case_codes() -> frozenset[str]:
    """Diseases for which one case is an alert (CIDARS fixed threshold)."""
    return frozenset(c for c, s in SYNDROMES.items() if s.cidars == "fixed")

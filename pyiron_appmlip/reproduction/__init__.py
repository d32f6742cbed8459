"""The reproduction of one paper (Baghishov, Janssen, Henkelman, Perez, Digital Discovery 2025,
DOI 10.1039/d5dd00294j) with this package.

Everything here is about that paper, not about a user's own material: the paper's published
numbers (:mod:`.paper_values`), the like-for-like study of its Figs. 4, 6 and 7 with the paper
authors' conventions (:mod:`.like_for_like`), the findings report that puts the paper's numbers
beside the same quantities measured on the shipped Be datasets (:mod:`.findings`,
:mod:`.findings_measure`, :mod:`.findings_render`), the check of pilot error models against the
authors' published tables (:mod:`.planner_validation`), the check of a realistic pilot's
predictions against whole-pool fits on the shipped GPAW and the W-Be Be data
(:mod:`.pilot_validation`, :mod:`.pilot_validation_measure`), and the campaigns that made the Be
datasets (:mod:`.be_dataset`). It uses the whole package; nothing else in the package uses it.

Command lines::

    python -m pyiron_appmlip.reproduction.findings --help
    python -m pyiron_appmlip.reproduction.like_for_like --help
    python -m pyiron_appmlip.reproduction.be_dataset --help
    python -m pyiron_appmlip.reproduction.planner_validation --help
    python -m pyiron_appmlip.reproduction.pilot_validation --help
"""

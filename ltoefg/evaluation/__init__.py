"""Evaluation of predictions: read and validate submissions, score them, report.

:mod:`~ltoefg.evaluation.schema` is the submission format and its checks;
:mod:`~ltoefg.evaluation.reader` reads an untrusted ``predictions.h5``;
:mod:`~ltoefg.evaluation.submission` validates, aligns and writes submissions;
:mod:`~ltoefg.evaluation.score` scores them (``ltoefg.evaluate``);
:mod:`~ltoefg.evaluation.report` is the report as text and
:mod:`~ltoefg.evaluation.plots` as figures (matplotlib, imported lazily).
"""

"""Expectation values from packed bits: diagonal observables on a ``BitArray``
(:mod:`~shotpack.expval.diagonal`), the Estimator's measurement plan
(:mod:`~shotpack.expval.plan`) and its evaluation (:mod:`~shotpack.expval.evaluate`).
"""

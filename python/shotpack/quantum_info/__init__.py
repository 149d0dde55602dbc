"""Observables as mathematics: term labels, ``PauliSum``, qubit layouts and term tables.

Nothing here knows about arrays of observables (:mod:`shotpack.containers.observables_array`)
or about measured bits (:mod:`shotpack.expval`).
"""

"""Symbolic circuit parameters: ``Parameter`` and ``ParameterExpression``.

An expression is kept in one of two forms:

* **affine**: ``const + sum(coeff_p * p)``, kept canonical, so ``theta - theta`` is the constant 0
  and ``2 * theta + 0.1`` is one multiply-add per binding when evaluated;
* **general**: an operation (``mul``, ``pow``, ``sin``, ...) over operand expressions, used as soon
  as an operation leaves the affine form (a product of two parameters, a sine of one).

Evaluation is vectorised: :meth:`ParameterExpression.evaluate` takes one NumPy array per parameter
and evaluates the whole expression with one NumPy operation per node, whatever the number of
bindings. Parameters are identified by object (two ``Parameter("a")`` are different parameters,
as in Qiskit); circuits and bindings refer to them by name, and a circuit may not hold two
different parameters of one name.
"""

from __future__ import annotations

import numbers
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Parameter",
    "ParameterExpression",
    "ParameterValue",
    "ParameterVector",
    "ParameterVectorElement",
    "parameter_sort_key",
    "sorted_parameters",
]

#: What an instruction argument may hold where a number is expected.
ParameterValue = Union[float, "ParameterExpression"]

# Operation name -> (vectorised NumPy function, scalar function). The scalar one folds constants
# exactly as the vectorised one would evaluate them.
_UNARY: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "exp": np.exp,
    "log": np.log,
    "abs": np.abs,
    "sign": np.sign,
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "pow": np.power,
}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
# Binding strength for printing with the fewest parentheses.
_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


def _as_real(value: object, what: str) -> float:
    """Returns ``value`` as a float, refusing complex numbers, bools aside, and non-numbers."""
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, numbers.Complex):
        raise TypeError(f"{what} must be real, got the complex number {value!r}")
    raise TypeError(f"{what} must be a real number or a ParameterExpression, got {type(value)}")


def _fmt_number(x: float) -> str:
    return repr(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


class ParameterExpression:
    """A real-valued expression over :class:`Parameter` objects.

    Built with ordinary arithmetic (``+ - * / **``, unary ``-``, ``abs``) and the methods
    :meth:`sin`, :meth:`cos`, :meth:`tan`, :meth:`arcsin`, :meth:`arccos`, :meth:`arctan`,
    :meth:`exp`, :meth:`log`, :meth:`sign` (``np.sin(expr)`` and friends call them too).
    Expressions are immutable and hashable; ``==`` compares structure (affine forms canonically).

    Example:
        >>> theta = Parameter("theta")
        >>> expr = 2 * theta + 0.1
        >>> expr.evaluate({"theta": np.array([0.0, 1.0])})
        array([0.1, 2.1])
    """

    __slots__ = ("_coeffs", "_const", "_op", "_operands", "_params")

    _coeffs: dict[Parameter, float] | None
    _const: float
    _op: str | None
    _operands: tuple[ParameterExpression | float, ...]
    _params: frozenset[Parameter]

    # ------------------------------------------------------------------ construction
    @classmethod
    def _affine(cls, coeffs: Mapping[Parameter, float], const: float) -> ParameterExpression:
        self = object.__new__(ParameterExpression)
        self._coeffs = {p: c for p, c in coeffs.items() if c != 0.0}
        self._const = float(const)
        self._op = None
        self._operands = ()
        self._params = frozenset(self._coeffs)
        return self

    @classmethod
    def _general(cls, op: str, *operands: ParameterExpression | float) -> ParameterExpression:
        self = object.__new__(ParameterExpression)
        self._coeffs = None
        self._const = 0.0
        self._op = op
        self._operands = operands
        params: set[Parameter] = set()
        for operand in operands:
            if isinstance(operand, ParameterExpression):
                params |= operand._params
        self._params = frozenset(params)
        return self

    @staticmethod
    def _coerce(value: object) -> ParameterExpression:
        if isinstance(value, ParameterExpression):
            return value
        return ParameterExpression._affine({}, _as_real(value, "an operand"))

    # ------------------------------------------------------------------ properties
    @property
    def parameters(self) -> frozenset[Parameter]:
        """The parameters this expression depends on."""
        return self._params

    @property
    def is_affine(self) -> bool:
        """Whether the expression is ``const + sum(coeff * parameter)``."""
        return self._coeffs is not None

    def is_constant(self) -> bool:
        """Whether the expression depends on no parameter (then ``float(expr)`` works)."""
        return not self._params

    def affine_coefficients(self) -> tuple[dict[Parameter, float], float]:
        """The ``({parameter: coefficient}, constant)`` form of an affine expression.

        Raises:
            ValueError: the expression is not affine.
        """
        if self._coeffs is None:
            raise ValueError(f"{self} is not affine in its parameters")
        return dict(self._coeffs), self._const

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, values: Mapping[Any, ArrayLike]) -> Any:
        """Evaluates the expression for arrays of parameter values, all at once.

        Args:
            values: parameter value(s) keyed by :class:`Parameter` or by parameter name. Arrays
                broadcast against each other with NumPy's rules; extra keys are ignored.

        Returns:
            A float64 ndarray of the broadcast shape of the inputs (0-d input gives a 0-d array).

        Raises:
            ValueError: a parameter of the expression has no value.
            TypeError: a value is not real.

        Example:
            >>> a, b = Parameter("a"), Parameter("b")
            >>> (a * b).evaluate({"a": [1.0, 2.0], "b": 3.0})
            array([3., 6.])
        """
        arrays: dict[Parameter, NDArray[np.float64]] = {}
        for param in self._params:
            if param in values:
                raw = values[param]
            elif param.name in values:
                raw = values[param.name]
            else:
                raise ValueError(f"no value given for parameter {param.name!r} of {self}")
            arr = np.asarray(raw)
            if np.iscomplexobj(arr):
                raise TypeError(f"the value of parameter {param.name!r} must be real")
            arrays[param] = np.asarray(arr, dtype=np.float64)
        with np.errstate(all="ignore"):
            return np.asarray(self._eval(arrays), dtype=np.float64)

    def _eval(self, arrays: Mapping[Parameter, NDArray[np.float64]]) -> Any:
        if self._coeffs is not None:
            out: Any = None
            for param, coeff in self._coeffs.items():
                term = arrays[param] if coeff == 1.0 else coeff * arrays[param]
                out = term if out is None else out + term
            if out is None:
                return self._const
            return out + self._const if self._const != 0.0 else out
        assert self._op is not None
        args = [
            x._eval(arrays) if isinstance(x, ParameterExpression) else x for x in self._operands
        ]
        if self._op in _UNARY:
            return _UNARY[self._op](args[0])
        return _BINARY[self._op](args[0], args[1])

    def __float__(self) -> float:
        if self._params:
            names = ", ".join(sorted(p.name for p in self._params))
            raise TypeError(f"{self} has unbound parameters ({names}) and cannot become a float")
        return float(self.evaluate({}))

    def bind(self, values: Mapping[Any, object]) -> ParameterExpression:
        """Substitutes numbers or expressions for some parameters, simplifying what it can.

        Args:
            values: replacements keyed by :class:`Parameter` or by parameter name.

        Returns:
            A new expression; ``float()`` of it works when no parameter is left.

        Raises:
            TypeError: a replacement is neither a real number nor an expression.

        Example:
            >>> theta = Parameter("theta")
            >>> float((2 * theta + 1).bind({"theta": 0.5}))
            2.0
        """

        def replacement(param: Parameter) -> ParameterExpression:
            if param in values:
                return ParameterExpression._coerce(values[param])
            if param.name in values:
                return ParameterExpression._coerce(values[param.name])
            return param

        return self._rebuild(replacement)

    def _rebuild(self, leaf: Callable[[Parameter], ParameterExpression]) -> ParameterExpression:
        if self._coeffs is not None:
            out = ParameterExpression._affine({}, self._const)
            for param, coeff in self._coeffs.items():
                out = out + coeff * leaf(param)
            return out
        assert self._op is not None
        args = [
            x._rebuild(leaf) if isinstance(x, ParameterExpression) else x for x in self._operands
        ]
        if self._op in _UNARY:
            return _apply_unary(self._op, ParameterExpression._coerce(args[0]))
        return _apply_binary(self._op, args[0], args[1])

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: object) -> ParameterExpression:
        return _apply_binary("add", self, other)

    def __radd__(self, other: object) -> ParameterExpression:
        return _apply_binary("add", other, self)

    def __sub__(self, other: object) -> ParameterExpression:
        return _apply_binary("sub", self, other)

    def __rsub__(self, other: object) -> ParameterExpression:
        return _apply_binary("sub", other, self)

    def __mul__(self, other: object) -> ParameterExpression:
        return _apply_binary("mul", self, other)

    def __rmul__(self, other: object) -> ParameterExpression:
        return _apply_binary("mul", other, self)

    def __truediv__(self, other: object) -> ParameterExpression:
        return _apply_binary("div", self, other)

    def __rtruediv__(self, other: object) -> ParameterExpression:
        return _apply_binary("div", other, self)

    def __pow__(self, other: object) -> ParameterExpression:
        return _apply_binary("pow", self, other)

    def __rpow__(self, other: object) -> ParameterExpression:
        return _apply_binary("pow", other, self)

    def __neg__(self) -> ParameterExpression:
        return _apply_binary("mul", -1.0, self)

    def __pos__(self) -> ParameterExpression:
        return self

    def __abs__(self) -> ParameterExpression:
        return _apply_unary("abs", self)

    def sin(self) -> ParameterExpression:
        """Sine of the expression."""
        return _apply_unary("sin", self)

    def cos(self) -> ParameterExpression:
        """Cosine of the expression."""
        return _apply_unary("cos", self)

    def tan(self) -> ParameterExpression:
        """Tangent of the expression."""
        return _apply_unary("tan", self)

    def arcsin(self) -> ParameterExpression:
        """Inverse sine of the expression."""
        return _apply_unary("arcsin", self)

    def arccos(self) -> ParameterExpression:
        """Inverse cosine of the expression."""
        return _apply_unary("arccos", self)

    def arctan(self) -> ParameterExpression:
        """Inverse tangent of the expression."""
        return _apply_unary("arctan", self)

    def exp(self) -> ParameterExpression:
        """Exponential of the expression."""
        return _apply_unary("exp", self)

    def log(self) -> ParameterExpression:
        """Natural logarithm of the expression."""
        return _apply_unary("log", self)

    def sign(self) -> ParameterExpression:
        """Sign (-1, 0 or 1) of the expression."""
        return _apply_unary("sign", self)

    # NumPy scalars on the left (``np.float64(2) * theta``) and ufuncs (``np.sin(theta)``) come
    # here; arrays of expressions are not supported, so anything else is declined.
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs:
            return NotImplemented
        if any(not isinstance(x, (ParameterExpression, numbers.Number)) for x in inputs):
            return NotImplemented
        name = {"absolute": "abs", "true_divide": "div", "multiply": "mul"}.get(
            ufunc.__name__, ufunc.__name__
        )
        if len(inputs) == 1 and name in _UNARY:
            return _apply_unary(name, ParameterExpression._coerce(inputs[0]))
        if len(inputs) == 1 and name == "negative":
            return -ParameterExpression._coerce(inputs[0])
        if len(inputs) == 2 and name in _BINARY:
            return _apply_binary(name, inputs[0], inputs[1])
        if len(inputs) == 2 and name == "subtract":
            return _apply_binary("sub", inputs[0], inputs[1])
        if len(inputs) == 2 and name == "power":
            return _apply_binary("pow", inputs[0], inputs[1])
        return NotImplemented

    # ------------------------------------------------------------------ comparison, hashing
    def _key(self) -> tuple[Any, ...]:
        if self._coeffs is not None:
            return ("affine", frozenset(self._coeffs.items()), self._const)
        return ("op", self._op, self._operands)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, numbers.Real):
            return not self._params and float(self) == float(other)
        if not isinstance(other, ParameterExpression):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        if self._coeffs is not None:
            if not self._coeffs:
                return hash(self._const)
            if self._const == 0.0 and len(self._coeffs) == 1:
                ((param, coeff),) = self._coeffs.items()
                if coeff == 1.0:
                    return hash(param)
        return hash(self._key())

    def __copy__(self) -> ParameterExpression:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ParameterExpression:
        return self

    # ------------------------------------------------------------------ printing
    def __str__(self) -> str:
        return self._format()[0]

    def __repr__(self) -> str:
        return f"ParameterExpression({self})"

    def _format(self) -> tuple[str, int]:
        """Text of the expression and the precedence of its outermost operation."""
        if self._coeffs is not None:
            parts: list[str] = []
            for param, coeff in sorted(self._coeffs.items(), key=lambda pc: pc[0].name):
                mag = abs(coeff)
                text = param.name if mag == 1.0 else f"{_fmt_number(mag)}*{param.name}"
                parts.append(("- " if coeff < 0 else "+ ") + text)
            if self._const != 0.0 or not parts:
                c = self._const
                parts.append(("- " if c < 0 else "+ ") + _fmt_number(abs(c)))
            text = " ".join(parts)
            text = text[2:] if text.startswith("+ ") else "-" + text[2:]
            if len(parts) > 1:
                return text, _PRECEDENCE["add"]
            coeff_only = len(self._coeffs) == 1 and abs(next(iter(self._coeffs.values()))) != 1
            if text.startswith("-"):
                return text, _PRECEDENCE["neg"]
            return text, _PRECEDENCE["mul"] if coeff_only else 99
        op = self._op
        assert op is not None
        if op in _UNARY:
            return f"{op}({_operand_text(self._operands[0], 0)})", 99
        prec = _PRECEDENCE[op]
        if op == "pow":  # right-associative, printed tight
            left = _operand_text(self._operands[0], prec + 1)
            return f"{left}**{_operand_text(self._operands[1], prec)}", prec
        # The right operand of a non-associative operation needs parentheses at equal precedence.
        left = _operand_text(self._operands[0], prec)
        right = _operand_text(self._operands[1], prec if op in ("add", "mul") else prec + 1)
        return f"{left} {_SYMBOL[op]} {right}", prec

    def __reduce__(self) -> tuple[Any, ...]:
        if self._coeffs is not None:
            return (ParameterExpression._affine, (self._coeffs, self._const))
        return (ParameterExpression._general, (self._op, *self._operands))


def _operand_text(x: ParameterExpression | float, min_prec: int) -> str:
    if isinstance(x, ParameterExpression):
        text, prec = x._format()
    else:
        text, prec = _fmt_number(x), (99 if x >= 0 else _PRECEDENCE["neg"])
    return f"({text})" if prec < min_prec else text


def _apply_unary(op: str, x: ParameterExpression) -> ParameterExpression:
    if x.is_constant():
        with np.errstate(all="ignore"):
            return ParameterExpression._affine({}, float(_UNARY[op](np.float64(float(x)))))
    return ParameterExpression._general(op, x)


def _apply_binary(op: str, a: object, b: object) -> ParameterExpression:
    x = ParameterExpression._coerce(a)
    y = ParameterExpression._coerce(b)
    if x.is_constant() and y.is_constant():
        if op == "div" and float(y) == 0.0:
            raise ZeroDivisionError(f"division of {x} by zero")
        with np.errstate(all="ignore"):
            value = _BINARY[op](np.float64(float(x)), np.float64(float(y)))
        return ParameterExpression._affine({}, float(value))
    xc, yc = x._coeffs, y._coeffs
    if op in ("add", "sub") and xc is not None and yc is not None:
        sign = 1.0 if op == "add" else -1.0
        coeffs = dict(xc)
        for param, coeff in yc.items():
            coeffs[param] = coeffs.get(param, 0.0) + sign * coeff
        return ParameterExpression._affine(coeffs, x._const + sign * y._const)
    if op == "mul" and (x.is_constant() or y.is_constant()):
        scale, other = (float(x), y) if x.is_constant() else (float(y), x)
        if scale == 0.0:
            return ParameterExpression._affine({}, 0.0)
        if scale == 1.0:
            return other
        if other._coeffs is not None:
            return ParameterExpression._affine(
                {p: scale * c for p, c in other._coeffs.items()}, scale * other._const
            )
    if op == "div" and y.is_constant():
        if float(y) == 0.0:
            raise ZeroDivisionError(f"division of {x} by zero")
        if x._coeffs is not None:
            return _apply_binary("mul", 1.0 / float(y), x)
    if op == "pow" and y.is_constant() and float(y) == 1.0:
        return x
    operands = [float(e) if e.is_constant() else e for e in (x, y)]
    return ParameterExpression._general(op, operands[0], operands[1])


class Parameter(ParameterExpression):
    """A named, unbound circuit parameter (a symbol in :class:`ParameterExpression`).

    Two parameters are the same only if one was copied from the other: ``Parameter("a") ==
    Parameter("a")`` is ``False``, as in Qiskit. A circuit refers to its parameters by name, so
    it may not mix two different parameters of one name.

    Args:
        name: the name, used to look up values in bindings. Must be a non-empty string.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is empty.

    Example:
        >>> theta = Parameter("theta")
        >>> print(2 * theta + 0.1, -theta)
        2*theta + 0.1 -theta
    """

    __slots__ = ("_name", "_uuid")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"a parameter name must be a str, got {type(name)}")
        if not name:
            raise ValueError("a parameter name must not be empty")
        self._name = name
        self._uuid = uuid.uuid4()
        self._coeffs = {self: 1.0}
        self._const = 0.0
        self._op = None
        self._operands = ()
        self._params = frozenset((self,))

    @property
    def name(self) -> str:
        """The parameter's name."""
        return self._name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Parameter):
            return self._uuid == other._uuid and self._name == other._name
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self._name, self._uuid))

    def __repr__(self) -> str:
        return f"Parameter({self._name})"

    def __str__(self) -> str:
        return self._name

    def _format(self) -> tuple[str, int]:
        return self._name, 99

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_parameter, (self._name, self._uuid))


def _restore_parameter(name: str, uid: uuid.UUID) -> Parameter:
    param = Parameter(name)
    param._uuid = uid
    return param


class ParameterVectorElement(Parameter):
    """Element ``index`` of a :class:`ParameterVector`; its name is ``f"{vector}[{index}]"``.

    It sorts by the vector's name, then by index as a number (``v[2]`` before ``v[10]``), as
    Qiskit sorts its ``ParameterVectorElement``; a plain :class:`Parameter` sorts by its name.

    Args:
        vector_name: the name of the vector.
        index: the element's index, ``>= 0``.

    Example:
        >>> e = ParameterVectorElement("theta", 3)
        >>> e.name, e.vector_name, e.index
        ('theta[3]', 'theta', 3)
    """

    __slots__ = ("_index", "_vector_name")

    def __init__(self, vector_name: str, index: int) -> None:
        if not isinstance(vector_name, str):
            raise TypeError(f"a vector name must be a str, got {type(vector_name)}")
        index = int(index)
        if index < 0:
            raise ValueError(f"a vector index must be >= 0, got {index}")
        super().__init__(f"{vector_name}[{index}]")
        self._vector_name = vector_name
        self._index = index

    @property
    def vector_name(self) -> str:
        """The name of the vector this element belongs to."""
        return self._vector_name

    @property
    def index(self) -> int:
        """The element's index in its vector."""
        return self._index

    def __repr__(self) -> str:
        return f"ParameterVectorElement({self._name})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_element, (self._vector_name, self._index, self._uuid))


def _restore_element(vector_name: str, index: int, uid: uuid.UUID) -> ParameterVectorElement:
    param = ParameterVectorElement(vector_name, index)
    param._uuid = uid
    return param


class ParameterVector:
    """A named list of parameters ``name[0]``, ``name[1]``, ... that sort by index.

    A circuit's parameters sort as Qiskit sorts them (:func:`parameter_sort_key`), so a bare
    value array binds ``v[0], v[1], ..., v[10]`` in index order, not in string order.

    Args:
        name: the vector's name.
        length: the number of elements.

    Example:
        >>> v = ParameterVector("v", 12)
        >>> [p.name for p in sorted_parameters(reversed(v.params))][:3]
        ['v[0]', 'v[1]', 'v[2]']
        >>> len(v), v[11].name
        (12, 'v[11]')
    """

    __slots__ = ("_name", "_params")

    def __init__(self, name: str, length: int = 0) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a vector name must be a non-empty str, got {name!r}")
        self._name = name
        self._params = tuple(ParameterVectorElement(name, i) for i in range(int(length)))

    @property
    def name(self) -> str:
        """The vector's name."""
        return self._name

    @property
    def params(self) -> tuple[ParameterVectorElement, ...]:
        """The elements, by index."""
        return self._params

    def __len__(self) -> int:
        return len(self._params)

    def __getitem__(self, index: Any) -> Any:
        return self._params[index]

    def __iter__(self) -> Any:
        return iter(self._params)

    def __repr__(self) -> str:
        return f"ParameterVector(name={self._name!r}, length={len(self._params)})"


def parameter_sort_key(param: Parameter) -> tuple[str, int]:
    """Qiskit's sort key of a circuit parameter: ``(name, -1)`` for a plain parameter,
    ``(vector name, index)`` for a vector element.

    Qiskit sorts a circuit's parameters by base name (the vector's name for an element), then
    puts a plain parameter before the elements of a vector of the same name, and elements by
    numeric index. Python compares ``str`` by code point, which is the byte order Qiskit's Rust
    core uses on UTF-8 names.

    Example:
        >>> v = ParameterVector("t", 11)
        >>> [p.name for p in sorted([v[10], Parameter("t0"), v[2], Parameter("t")],
        ...                         key=parameter_sort_key)]
        ['t', 't[2]', 't[10]', 't0']
    """
    if isinstance(param, ParameterVectorElement):
        return (param._vector_name, param._index)
    return (param.name, -1)


def sorted_parameters(params: Iterable[Parameter]) -> tuple[Parameter, ...]:
    """Parameters in Qiskit's order (:func:`parameter_sort_key`), refusing two different ones of
    one name.

    Raises:
        ValueError: two different parameters share a name.

    Example:
        >>> v = ParameterVector("x", 12)
        >>> [p.name for p in sorted_parameters([v[11], v[1], v[10]])]
        ['x[1]', 'x[10]', 'x[11]']
    """
    by_name: dict[str, Parameter] = {}
    for param in params:
        seen = by_name.setdefault(param.name, param)
        if seen != param:
            raise ValueError(
                f"two different parameters are named {param.name!r}; parameter names must be "
                "unique within a circuit"
            )
    return tuple(sorted(by_name.values(), key=parameter_sort_key))


def real_value(value: object, what: str) -> float:
    """``value`` as a float; a bound (constant) expression counts as its value.

    Raises:
        TypeError: not a real number, or an expression that still has parameters.
    """
    if isinstance(value, ParameterExpression):
        return float(value)
    return _as_real(value, what)

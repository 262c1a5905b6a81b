import os
import pickle

import numpy as np
import pytest

from repro.safe_pickle import load_numpy_pickle


def test_loads_nested_numpy_arrays():
    data = {"a": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}, "b": np.ones(2)}
    out = load_numpy_pickle(pickle.dumps(data, protocol=3))
    np.testing.assert_array_equal(out["a"]["kernel"], data["a"]["kernel"])
    assert out["a"]["kernel"].dtype == np.float32


@pytest.mark.parametrize("payload", [os.system, eval, pickle.loads])
def test_refuses_any_other_global(payload):
    with pytest.raises(pickle.UnpicklingError, match="only numpy arrays"):
        load_numpy_pickle(pickle.dumps(payload))


def test_refuses_a_code_execution_pickle():
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError):
        load_numpy_pickle(pickle.dumps(Exploit()))

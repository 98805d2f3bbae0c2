"""The API's request bodies (pydantic): unknown fields are refused, each limit named."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field

from dprof.service.algorithms_port import MAX_ITERATIONS, MAX_SIZE

MAX_SEED = 2 ** 64 - 1


class JobCreate(BaseModel):
    """A profiling job: sort ``input_size`` elements with a registered algorithm."""
    model_config = ConfigDict(extra="forbid")

    algorithm_name: str = Field(..., min_length=1, max_length=100,
                                description="a name from GET /api/v1/algorithms")
    input_size: int = Field(..., ge=1, le=MAX_SIZE, description="elements to sort")
    parameters: Dict[str, Any] = Field(default_factory=dict,
                                       description="the algorithm's parameters, e.g. "
                                                   '{"pivot_strategy": "median"}')
    priority: int = Field(5, ge=0, le=9, description="0 (lowest) to 9 (most urgent)")
    iterations: int = Field(1, ge=1, le=MAX_ITERATIONS,
                            description="runs, each on a new input from (seed, size, i)")
    distribution: str = Field("random", description="random, sorted, reversed, "
                                                    "nearly_sorted, few_unique, all_equal")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    kind: str = Field("int", description="element type: int, float or str")


class CompareCreate(BaseModel):
    """Algorithms to compare on identical inputs, one job per algorithm and size."""
    model_config = ConfigDict(extra="forbid")

    algorithms: List[str] = Field(..., min_length=1, max_length=20)
    sizes: Optional[List[int]] = Field(None, min_length=1, max_length=20,
                                       description="several sizes: complexity is fitted")
    parameters: Dict[str, Dict[str, Any]] = Field(
        default_factory=dict, description='per algorithm, e.g. {"quick_sort": '
                                          '{"pivot_strategy": "first"}}')
    distribution: str = "random"
    seed: int = Field(0, ge=0, le=MAX_SEED)
    kind: str = "int"
    priority: int = Field(5, ge=0, le=9)

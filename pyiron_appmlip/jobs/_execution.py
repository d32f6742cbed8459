"""Where a job's heavy steps run: the same two handles on every job class that has them."""

from __future__ import annotations

from concurrent.futures import Executor

from ..executors import check_executor


class ExecutorMixin:
    """``job.input.executor`` holds a storable executor spec (:mod:`pyiron_appmlip.executors`;
    default ``None``: all local cores); ``job.executor = <Executor instance>`` uses a running
    executor for this session's ``run()`` (an instance cannot be stored in HDF5)."""

    @property
    def executor(self):
        """The executor spec or instance the next run uses."""
        instance = getattr(self, "_executor_instance", None)
        return instance if instance is not None else self.input.executor

    @executor.setter
    def executor(self, value):
        check_executor(value)
        if isinstance(value, Executor):
            self._executor_instance = value
        else:
            self._executor_instance = None
            self.input.executor = value

"""The paper validation: scenarios x seeds of the real strategy, executor and breakers under
injected faults, judged check by check into a go/no-go readiness report."""

from exchange_mock.validation.validate import ValidationConfig, validate

__all__ = ["ValidationConfig", "validate"]

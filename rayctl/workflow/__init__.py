"""The workflows behind the verbs: files (load -> spec -> render -> validate -> objects), CRD sources, and the
cluster operations (apply, diff, status, delete, wait) that combine the k8s adapter with the planner and status."""

from rayctl.workflow.files import InvalidError, Prepared, prepare, render_file, validate_file

__all__ = ["InvalidError", "Prepared", "prepare", "render_file", "validate_file"]

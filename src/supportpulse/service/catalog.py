"""The sources the service knows: those of the config file and those added
through the API.

API-added sources are kept in a JSON file beside the config
(`service.sources_file`, mode 0600), never in the store, as they were posted:
a `${VAR}` or `${file:PATH}` in an option stays a reference on disk and is
resolved when the source starts, so secrets need never be written anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from supportpulse.config import FILE_REFERENCE, Settings, SourceSettings, interpolate
from supportpulse.errors import ConfigError
from supportpulse.sources import source_class

Origin = Literal["config", "api"]


def _first_problem(exc: ValidationError, prefix: str) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part)
    return f"key '{key}': {first['msg']}"


class SourceCatalog:
    """Source settings by name, with where each came from."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = Path(settings.service.sources_file)
        self._configured = {source.name: source for source in settings.sources}
        self._added: dict[str, SourceSettings] = {}

    def load(self) -> list[SourceSettings]:
        """Read the API-added sources kept from earlier runs; return them resolved."""
        if not self.path.is_file():
            return []
        try:
            documents = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"{self.path}: cannot read the sources added through the API ({exc}); "
                "fix or remove the file"
            ) from None
        if not isinstance(documents, list):
            raise ConfigError(f"{self.path}: expected a JSON list of sources")
        for index, document in enumerate(documents):
            try:
                stored = SourceSettings.model_validate(document)
            except ValidationError as exc:
                problem = _first_problem(exc, str(index))
                raise ConfigError(f"{self.path}: {problem}") from None
            if stored.name not in self._configured:
                self._added[stored.name] = stored
        resolved = []
        for source in self._added.values():
            try:
                resolved.append(self.validate(source))
            except ConfigError as exc:
                raise ConfigError(
                    f"{self.path}: source '{source.name}': {exc}"
                ) from None
        return resolved

    def origin(self, name: str) -> Origin | None:
        """Whether a source comes from the config file or the API, if known."""
        if name in self._configured:
            return "config"
        return "api" if name in self._added else None

    def names(self) -> list[str]:
        """Every known source, config file first."""
        return [*self._configured, *self._added]

    def get(self, name: str) -> SourceSettings | None:
        """A source's settings as written (references unresolved)."""
        return self._configured.get(name) or self._added.get(name)

    def resolve(self, source: SourceSettings) -> SourceSettings:
        """The settings with `${...}` references in options replaced; ConfigError
        names the option when a reference cannot be resolved. Config-file
        sources were resolved when the file was read."""
        if source.name in self._configured:
            return source
        options = interpolate(source.options, self.path, ("options",))
        return source.model_copy(update={"options": options})

    def validate(self, source: SourceSettings) -> SourceSettings:
        """Check the type and its options; return the resolved settings.

        Raises ConfigError naming the dotted key at fault.
        """
        try:
            plugin = source_class(source.type)
        except ConfigError as exc:
            raise ConfigError(f"key 'type': {exc}") from None
        # Before resolving, which reads the secrets files.
        self._check_readable(self._secret_files(source.options))
        resolved = self.resolve(source)
        try:
            options = plugin.options_model.model_validate(resolved.options)
        except ValidationError as exc:
            raise ConfigError(_first_problem(exc, "options")) from None
        self._check_readable(options.files_read())
        return resolved

    def _secret_files(self, node: Any) -> list[Path]:
        if isinstance(node, dict):
            return [
                path for value in node.values() for path in self._secret_files(value)
            ]
        if isinstance(node, list):
            return [path for value in node for path in self._secret_files(value)]
        if not isinstance(node, str):
            return []
        return [
            (self.path.parent / found.strip()).expanduser()
            for found in FILE_REFERENCE.findall(node)
        ]

    def _check_readable(self, paths: list[Path]) -> None:
        """Refuse a file outside `service.file_roots`: whoever holds the admin
        token may add sources, but not read the server's other files."""
        roots = [
            Path(root).expanduser().resolve()
            for root in self.settings.service.file_roots
        ]
        for path in paths:
            # Resolved, so neither '..' nor a symbolic link leads outside.
            real = path.expanduser().resolve()
            if not any(real.is_relative_to(root) for root in roots):
                raise ConfigError(
                    f"key 'options': {path} is outside the folders sources added "
                    "through the API may read; put the file in one of "
                    f"service.file_roots ({', '.join(map(str, roots))}) or add its "
                    "folder there"
                )

    def add(self, source: SourceSettings) -> None:
        """Keep an API-added source, on disk first so a crash cannot lose it."""
        self._save({**self._added, source.name: source})
        self._added[source.name] = source

    def remove(self, name: str) -> None:
        """Forget an API-added source."""
        remaining = {key: value for key, value in self._added.items() if key != name}
        self._save(remaining)
        self._added = remaining

    def _save(self, sources: dict[str, SourceSettings]) -> None:
        documents: list[dict[str, Any]] = [
            source.model_dump(mode="json") for source in sources.values()
        ]
        temporary = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600: options may hold literal credentials if a user posts them.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(documents, handle, indent=2)
        temporary.replace(self.path)

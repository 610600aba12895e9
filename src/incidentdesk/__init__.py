"""IncidentDesk: self-hosted incident management that carries out a written policy."""

__version__ = "0.1.0"

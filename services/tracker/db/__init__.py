"""The tracker's database: tables (``tables``), the write side (``store``), the read side
(``queries``)."""

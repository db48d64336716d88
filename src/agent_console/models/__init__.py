"""Data shapes: vocabulary and read models here; SQLModel tables in models.tables (imported on demand)."""

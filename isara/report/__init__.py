"""The experiment report: tables from the declared metrics, markdown, figures, dvc plots data."""

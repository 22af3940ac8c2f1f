"""Write the experiment report: every method against every metric, figures and example generations.

    python stages/report.py --metrics metrics/methods --judges judges --work work --reports reports \
        --out report --summary metrics/summary.json

It reads the metrics files of the methods and suites params.yaml names (isara/report/).
"""

import click

from isara.config import load_params
from isara.report.write import write_report
from isara.stage import entry


@click.command()
@click.option("--metrics", "metrics_dir", default="metrics/methods", show_default=True,
              help="the methods' metrics folders (metrics/methods/<method>/<suite>.json)")
@click.option("--judges", "judges_dir", default="judges", show_default=True, help="judge folders (NAME/check.json)")
@click.option("--work", "work_dir", default="work", show_default=True)
@click.option("--reports", "reports_dir", default="reports", show_default=True,
              help="per-prompt answers of the evaluations (paired comparisons)")
@click.option("--out", default="report", show_default=True, help="report folder to (re)write")
@click.option("--summary", "summary_path", default="metrics/summary.json", show_default=True,
              help="the flat summary to (re)write")
@entry
def main(metrics_dir, judges_dir, work_dir, reports_dir, out, summary_path):
    path = write_report(metrics_dir, work_dir, out, load_params(), reports_dir, judges_dir, summary_path)
    click.echo(f"report -> {path}")


if __name__ == "__main__":
    main()

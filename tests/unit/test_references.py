"""The database's file references as the cutover says them (deploy/site/ops/references.py): the scan's
counts, FileFields and the paths in CharFields, and a scan's from before the paths."""

from deploy.site.ops.references import ReferenceReport, take_counts


def report_of(counts, **more):
    report = ReferenceReport(**more)
    take_counts(report, counts)
    return report


def test_the_paths_in_charfields_are_said_beside_the_filefields_by_field():
    report = report_of({"references": 1426, "missing_on_disk": 0, "path_references": 6,
                        "path_fields": {"gallery.Photo.path": 6}, "path_fields_capped": [], "path_rows": 1000000})
    assert report.summary() == ("1426 file references in the database (1420 in FileFields, 6 paths in CharFields: "
                                "gallery.Photo.path 6), every one on disk (and so in the bucket)")


def test_the_fields_with_most_paths_come_first_and_a_capped_field_is_said():
    fields = {f"app.M.f{n}": n for n in range(1, 8)}
    report = report_of({"references": 40, "missing_on_disk": 2, "path_references": 28, "path_fields": fields,
                        "path_fields_capped": ["app.M.f7"], "path_rows": 1000000},
                       in_bucket=1, missing_everywhere=["a/b.png"])
    assert report.summary() == (
        "40 file references in the database (12 in FileFields, 28 paths in CharFields: app.M.f7 7, app.M.f6 6, "
        "app.M.f5 5, app.M.f4 4, app.M.f3 3 and 2 more fields) (of app.M.f7 only the first 1,000,000 rows with "
        "a '.' were read); 2 were already missing on disk: 1 of them are in the bucket, 1 are nowhere (not caused "
        "by the cutover)\n    - a/b.png")


def test_a_scan_from_before_the_paths_reads_as_filefields_alone():
    report = report_of({"references": 5, "missing_on_disk": 0})
    assert (report.path_references, report.path_fields) == (0, {})
    assert report.summary() == "5 file references in the database, every one on disk (and so in the bucket)"

from inventree_runtime.versions import InvenTreeVersion, downgrade_refusal, read_api_version

from .support import TempDirTestCase


def v(software, api=None):
    return InvenTreeVersion(software, api)


class OrderingTest(TempDirTestCase):
    def test_patch_versions_compare_as_numbers(self):
        self.assertTrue(v("1.3.9").is_older_than(v("1.3.10")))

    def test_dev_version_is_older_than_its_release(self):
        self.assertTrue(v("1.3.0 dev").is_older_than(v("1.3.0")))

    def test_dash_dev_and_rc_suffixes_are_pre_releases(self):
        self.assertTrue(v("1.4.0-dev").is_older_than(v("1.4.0")))
        self.assertTrue(v("1.4.0rc1").is_older_than(v("1.4.0")))

    def test_previous_minor_release_is_older_than_the_next_dev_version(self):
        self.assertTrue(v("1.2.5").is_older_than(v("1.3.0 dev")))
        self.assertFalse(v("1.3.0 dev").is_older_than(v("1.2.5")))

    def test_missing_patch_number_reads_as_zero(self):
        self.assertFalse(v("1.3").is_older_than(v("1.3.0")))

    def test_same_version_with_a_lower_api_version_is_older(self):
        self.assertTrue(v("1.3.0 dev", 460).is_older_than(v("1.3.0 dev", 477)))

    def test_same_version_without_api_versions_is_not_older(self):
        self.assertFalse(v("1.3.5").is_older_than(v("1.3.5", 477)))

    def test_unparseable_version_cannot_be_ordered(self):
        self.assertIsNone(v("unknown").is_older_than(v("1.3.5")))


class DowngradeRefusalTest(TempDirTestCase):
    def test_older_tree_is_refused_naming_both_versions(self):
        refusal = downgrade_refusal(v("1.3.0 dev", 477), v("1.2.0 dev", 453))
        self.assertIn("InvenTree 1.3.0 dev (API 477)", refusal)
        self.assertIn("older InvenTree 1.2.0 dev (API 453)", refusal)

    def test_same_and_newer_trees_are_not_refused(self):
        self.assertIsNone(downgrade_refusal(v("1.3.0 dev", 477), v("1.3.0 dev", 477)))
        self.assertIsNone(downgrade_refusal(v("1.3.0 dev", 477), v("1.4.0 dev", 480)))

    def test_unorderable_versions_are_not_refused(self):
        self.assertIsNone(downgrade_refusal(v("custom"), v("1.3.0")))


class ApiVersionTest(TempDirTestCase):
    def test_api_version_is_read_as_text(self):
        self.write("InvenTree/api_version.py", '"""API version."""\n\nINVENTREE_API_VERSION = 477\n')
        self.assertEqual(read_api_version(self.tmp), 477)

    def test_tree_without_api_version_file_has_none(self):
        self.assertIsNone(read_api_version(self.tmp))

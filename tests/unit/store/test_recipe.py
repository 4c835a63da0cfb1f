"""The recipe file format on its own."""
import io
import os

import fixtures
import testtools

from glance_store_layers import recipe


class TestRecipe(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'recipe')

    def _write(self, steps, meta=None):
        with open(self.path, 'w+b') as f:
            writer = recipe.RecipeWriter(f)
            for step in steps:
                if isinstance(step, bytes):
                    writer.inline(step)
                else:
                    writer.blob(*step)
            writer.finish(meta or {'k': 'v'})
        return writer

    def test_round_trip_and_ranges(self):
        digest = 'ab' * 32
        self._write([b'head', b'er', (digest, 1000), b'tail'])
        r = recipe.Recipe.load(self.path)
        self.assertEqual(1010, r.size)
        self.assertEqual(recipe.read_size(self.path), r.size)
        self.assertEqual({'k': 'v'}, r.meta)
        self.assertEqual([digest], r.digests)
        # Consecutive verbatim bytes are one segment.
        self.assertEqual([(0, 6, 'inline'), (6, 1000, 'blob'),
                          (1006, 4, 'inline')],
                         [(s.start, s.length, s.kind) for s in r.segments])
        self.assertEqual([(6, 0, 1000), (1006, 0, 2)],
                         [(s.start, skip, take) for s, skip, take
                          in r.segments_for(6, 1002)])
        self.assertEqual([(0, 5, 1), (6, 0, 1)],
                         [(s.start, skip, take) for s, skip, take
                          in r.segments_for(5, 2)])
        self.assertEqual([], list(r.segments_for(1010, 5)))
        with open(self.path, 'rb') as f:
            f.seek(r.segments[0].ref)
            self.assertEqual(b'header', f.read(6))

    def test_big_inline_runs_are_split_into_records(self):
        data = os.urandom(recipe.INLINE_RECORD_MAX * 2 + 10)
        self._write([data[i:i + 1000] for i in range(0, len(data), 1000)])
        r = recipe.Recipe.load(self.path)
        self.assertEqual(2, len(r.segments))
        # Memory bound: a record is at most the limit plus one piece.
        for seg in r.segments:
            self.assertLessEqual(seg.length, recipe.INLINE_RECORD_MAX + 1000)
        out = io.BytesIO()
        with open(self.path, 'rb') as f:
            for seg in r.segments:
                f.seek(seg.ref)
                out.write(f.read(seg.length))
        self.assertEqual(data, out.getvalue())

    def test_incomplete_or_damaged(self):
        with open(self.path, 'w+b') as f:
            writer = recipe.RecipeWriter(f)
            writer.inline(b'x' * 10)
            writer.flush()
        self.assertRaises(recipe.RecipeError, recipe.Recipe.load, self.path)
        self._write([b'abc', ('cd' * 32, 5)])
        with open(self.path, 'r+b') as f:
            f.seek(0)
            f.write(b'NOTARCP\n')
        self.assertRaises(recipe.RecipeError, recipe.Recipe.load, self.path)
        self._write([b'abc', ('cd' * 32, 5)])
        size = os.path.getsize(self.path)
        os.truncate(self.path, size - 3)
        self.assertRaises(recipe.RecipeError, recipe.Recipe.load, self.path)

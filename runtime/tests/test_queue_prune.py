from inventree_runtime.queue_prune import drop_unreadable

from .support import TempDirTestCase


class FakeQueued:
    def __init__(self, queue, task):
        self.queue = queue
        self.task = task

    def delete(self):
        self.queue.rows.remove(self)


class FakeObjects:
    def __init__(self, queue):
        self.queue = queue

    def all(self):
        return list(self.queue.rows)


class FakeQueue:
    """Django-Q's OrmQ as queue_prune sees it: rows whose `task` is what SignedPackage.loads gave."""

    def __init__(self, *tasks):
        self.rows = [FakeQueued(self, task) for task in tasks]
        self.objects = FakeObjects(self)


class QueuePruneTest(TempDirTestCase):
    def test_tasks_signed_with_another_key_are_dropped_and_readable_ones_kept(self):
        queue = FakeQueue({"id": "*BadSignature"}, {"id": "a1", "func": "InvenTree.tasks.heartbeat"})
        line = drop_unreadable(queue)
        self.assertTrue(line.startswith("queue: dropped 1 of 2 queued tasks signed with another secret key"), line)
        self.assertEqual([row.task["id"] for row in queue.rows], ["a1"])

    def test_a_readable_queue_is_left_alone(self):
        queue = FakeQueue({"id": "a1", "func": "f"})
        self.assertEqual(drop_unreadable(queue), "queue: all 1 queued tasks readable")
        self.assertEqual(len(queue.rows), 1)

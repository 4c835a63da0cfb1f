"""Engine errors become Nova exceptions by status code and type; every
answered call is logged at debug level with its duration."""
import logging
from unittest import mock

from docker import errors as docker_errors
import fixtures
from nova import exception
import requests
import testtools
from urllib3 import exceptions as urllib3_errors

from nova_pydock import engine


def _api_error(status):
    response = requests.Response()
    response.status_code = status
    return docker_errors.APIError('engine said no', response=response,
                                  explanation='explained')


class TestTranslation(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.client = engine.EngineClient('unix:///x.sock', 5, retries=2,
                                          retry_interval=0)
        self.client._api = mock.Mock()

    def test_not_found_container_and_image(self):
        self.client._api.inspect_container.side_effect = (
            docker_errors.NotFound('gone'))
        self.assertRaises(engine.ContainerNotFound,
                          self.client.inspect_container, 'c')
        self.client._api.inspect_image.side_effect = (
            docker_errors.NotFound('gone'))
        self.assertRaises(engine.ImageNotInEngine,
                          self.client.inspect_image, 'i')

    def test_conflict_and_other_errors(self):
        self.client._api.pause.side_effect = _api_error(409)
        exc = self.assertRaises(engine.ContainerConflict, self.client.pause,
                                'c')
        self.assertIn('explained', str(exc))
        self.client._api.pause.side_effect = _api_error(500)
        self.assertRaises(engine.EngineError, self.client.pause, 'c')

    def test_connection_error_is_hypervisor_unavailable(self):
        self.client._api.inspect_container.side_effect = (
            requests.exceptions.ConnectionError('refused'))
        exc = self.assertRaises(exception.HypervisorUnavailable,
                                self.client.inspect_container, 'c')
        self.assertIn('unix:///x.sock', str(exc))
        # retried: 1 try + 2 retries
        self.assertEqual(3, self.client._api.inspect_container.call_count)

    def test_transient_error_then_success(self):
        self.client._api.start.side_effect = [_api_error(503), None]
        self.client.start('c')
        self.assertEqual(2, self.client._api.start.call_count)

    def test_state_changing_calls_are_not_retried(self):
        self.client._api.create_host_config.return_value = {}
        self.client._api.create_container.side_effect = (
            requests.exceptions.ConnectionError('reset'))
        self.assertRaises(exception.HypervisorUnavailable,
                          self.client.create_container, 'n', 'img',
                          command=None, hostname='h', labels={},
                          host_config={})
        self.assertEqual(1, self.client._api.create_container.call_count)


class TestCallLog(testtools.TestCase):

    def test_answered_call_is_logged_with_its_duration(self):
        log = self.useFixture(fixtures.FakeLogger(
            name='nova_pydock.engine', level=logging.DEBUG))
        client = engine.EngineClient('unix:///x.sock', 5, retry_interval=0)
        client._api = mock.Mock()
        client._api.start.side_effect = [_api_error(503), None]
        client.start('nova-1')
        self.assertRegex(log.output,
                         r'Engine call start\(nova-1\) answered in '
                         r'\d+\.\d{3}s')
        self.assertEqual(1, log.output.count('answered'))


class TestWaitStopped(testtools.TestCase):
    """A wait that times out is an answer; a lost engine is not."""

    def setUp(self):
        super().setUp()
        self.client = engine.EngineClient('unix:///x.sock', 5, retries=0)
        self.client._api = mock.Mock()

    def test_timeouts_before_and_after_the_headers(self):
        for timeout in (
                requests.exceptions.ReadTimeout('no answer'),
                requests.exceptions.ConnectionError(
                    urllib3_errors.ReadTimeoutError(None, None, 'read'))):
            self.client._api.wait.side_effect = timeout
            self.assertFalse(self.client.wait_stopped('c', 2))
        self.client._api.wait.assert_called_with('c', timeout=2)

    def test_lost_engine_is_hypervisor_unavailable(self):
        self.client._api.wait.side_effect = (
            requests.exceptions.ConnectionError('refused'))
        self.assertRaises(exception.HypervisorUnavailable,
                          self.client.wait_stopped, 'c', 2)

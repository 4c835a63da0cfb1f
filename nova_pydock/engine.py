"""The one module that talks to the container engine.

Wraps the Docker SDK's low-level client: connection and timeouts from
``[pydock]``, retries of transient failures where repeating a call is safe,
and translation of engine errors into Nova exceptions by HTTP status code
and exception type, never by message text. No other module imports the SDK.
Terminals (attach, exec) are upgraded connections that ``engine_socket``
opens on the engine's socket; their errors are translated here too.
"""
import functools
import time
from urllib import parse as urlparse

import docker
from docker import errors as docker_errors
from nova import exception
from oslo_log import log as logging
import requests
from urllib3 import exceptions as urllib3_errors

from nova_pydock import engine_socket

LOG = logging.getLogger(__name__)

# Engine API errors a retry can cure: the engine was restarting or busy.
_TRANSIENT_STATUS = frozenset([502, 503, 504])


class EngineUnavailable(exception.HypervisorUnavailable):
    msg_fmt = ("Container engine at %(url)s does not answer: %(reason)s. "
               "Start it (tools/ensure-engine starts Debian's dockerd) or "
               "set [pydock] engine_url.")


class EngineError(exception.NovaException):
    msg_fmt = "Container engine call %(call)s failed: %(reason)s"


class ContainerNotFound(exception.NovaException):
    msg_fmt = "Container %(name)s does not exist on the engine"


class ContainerConflict(exception.NovaException):
    """The container is in a state that does not allow the call (409)."""
    msg_fmt = "Container %(name)s cannot %(call)s now: %(reason)s"


class ImageNotInEngine(exception.NovaException):
    msg_fmt = "Image %(ref)s is not in the engine"


class ImageLoadFailed(exception.NovaException):
    msg_fmt = "The engine refused the image archive: %(reason)s"


def _explanation(exc):
    explanation = getattr(exc, 'explanation', None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode('utf-8', 'replace')
    return explanation or str(exc)


def _is_transient(exc):
    if isinstance(exc, (requests.exceptions.ConnectionError,
                        requests.exceptions.Timeout)):
        return True
    return (isinstance(exc, docker_errors.APIError)
            and exc.status_code in _TRANSIENT_STATUS)


def _is_read_timeout(exc):
    """Whether a request's answer did not come in time.

    requests reports a timeout before the headers as ReadTimeout, and one
    while it reads a chunked body (the engine's wait answers its headers at
    once) as a ConnectionError around urllib3's ReadTimeoutError.
    """
    return isinstance(exc, requests.exceptions.ReadTimeout) or any(
        isinstance(arg, urllib3_errors.ReadTimeoutError) for arg in exc.args)


def _engine_call(retry, subject='container', changes_containers=False):
    """Decorate an EngineClient method: retries and error translation.

    ``retry`` says whether the call may be repeated after a transient
    failure. ``subject`` says what a 404 means: a missing container or a
    missing image. ``changes_containers``: the call may change which
    containers there are, their names or their states; it counts in
    ``container_changes`` once it returned or failed.
    """
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return _call(self, method, args, kwargs, retry, subject)
            finally:
                if changes_containers:
                    self.container_changes += 1
        return wrapper
    return decorate


def _call(client, method, args, kwargs, retry, subject):
    name = args[0] if args else client.url
    tries = 1 + (client.retries if retry else 0)
    interval = client.retry_interval
    for attempt in range(1, tries + 1):
        started = time.monotonic()
        try:
            result = method(client, *args, **kwargs)
            LOG.debug('Engine call %s(%s) answered in %.3fs',
                      method.__name__, name, time.monotonic() - started)
            return result
        except Exception as exc:
            if attempt < tries and _is_transient(exc):
                LOG.warning("Engine call %s(%s) failed (%s), try %d of %d "
                            "in %.1fs", method.__name__, name, exc,
                            attempt + 1, tries, interval)
                time.sleep(interval)
                interval *= 2
                continue
            raise client._translate(exc, method.__name__, name,
                                    subject) from exc


class EngineClient:
    """Typed access to the engine's API, raising only Nova exceptions."""

    def __init__(self, url, timeout, retries=3, retry_interval=1.0,
                 load_timeout=1800):
        self.url = url
        self.retries = retries
        self.retry_interval = retry_interval
        #: How many calls that change containers were made through this
        #: client: a listing taken before the last one may be out of date.
        self.container_changes = 0
        self._api = None
        self._timeout = timeout
        self._load_timeout = load_timeout

    @classmethod
    def from_conf(cls, conf):
        opts = conf.pydock
        return cls(opts.engine_url, opts.engine_timeout,
                   retries=opts.engine_retries,
                   retry_interval=opts.engine_retry_interval,
                   load_timeout=opts.image_load_timeout)

    def without_retries(self):
        """A client of the same engine whose calls are never repeated:
        for a caller that must not wait on an engine that went away."""
        return EngineClient(self.url, self._timeout, retries=0,
                            load_timeout=self._load_timeout)

    # -- connection -------------------------------------------------------

    @property
    def api(self):
        """The SDK client, connected on first use (API version negotiated)."""
        if self._api is None:
            try:
                self._api = docker.APIClient(base_url=self.url,
                                             version='auto',
                                             timeout=self._timeout)
            except docker_errors.DockerException as exc:
                raise EngineUnavailable(url=self.url,
                                        reason=_explanation(exc)) from exc
        return self._api

    def _translate(self, exc, call, name, subject):
        if isinstance(exc, exception.NovaException):
            return exc
        if isinstance(exc, (requests.exceptions.ConnectionError,
                            requests.exceptions.Timeout)):
            return EngineUnavailable(url=self.url, reason=str(exc))
        if isinstance(exc, docker_errors.NotFound):
            if subject == 'image':
                return ImageNotInEngine(ref=name)
            return ContainerNotFound(name=name)
        if isinstance(exc, docker_errors.APIError):
            if exc.status_code == 409:
                return ContainerConflict(name=name, call=call,
                                         reason=_explanation(exc))
            return EngineError(call=call, reason=_explanation(exc))
        if isinstance(exc, docker_errors.DockerException):
            return EngineError(call=call, reason=str(exc))
        return exc

    def version(self):
        try:
            return self.api.version()
        except (requests.exceptions.RequestException,
                docker_errors.DockerException) as exc:
            raise EngineUnavailable(url=self.url, reason=str(exc)) from exc

    @_engine_call(retry=True)
    def info(self):
        return self.api.info()

    # -- images -----------------------------------------------------------

    @_engine_call(retry=True, subject='image')
    def inspect_image(self, ref):
        return self.api.inspect_image(ref)

    @_engine_call(retry=False, subject='image')
    def load_image(self, label, chunks):
        """Stream a ``docker save`` archive into the engine.

        ``chunks`` is any iterable of bytes; it is sent as a chunked upload
        so the archive is never held whole. Returns the IDs and tags the
        engine reports as loaded. ``label`` only names the upload in logs.
        """
        api = docker.APIClient(base_url=self.url, version=self.api.api_version,
                               timeout=self._load_timeout)
        loaded = []
        try:
            for message in api.load_image(chunks):
                if 'error' in message:
                    raise ImageLoadFailed(reason=message['error'])
                stream = message.get('stream', '').strip()
                # The API reports each image as "Loaded image ID: <id>" or
                # "Loaded image: <repo:tag>"; the reference follows ": ".
                if stream.startswith('Loaded image'):
                    loaded.append(stream.split(': ', 1)[1])
        except docker_errors.APIError as exc:
            # 4xx: a request the engine refused; 500: an archive it could
            # not read. Anything else (engine busy, gone) stays transient.
            if exc.status_code is not None and 400 <= exc.status_code <= 500:
                raise ImageLoadFailed(reason=_explanation(exc)) from exc
            raise
        finally:
            api.close()
        if not loaded:
            raise ImageLoadFailed(reason='the archive holds no image (%s)'
                                  % label)
        return loaded

    @_engine_call(retry=True, subject='image')
    def tag_image(self, ref, repository, tag):
        self.api.tag(ref, repository, tag, force=True)

    @_engine_call(retry=True, subject='image')
    def remove_image(self, ref):
        self.api.remove_image(ref, noprune=False)

    @_engine_call(retry=True, subject='image')
    def list_images(self, reference):
        return self.api.images(name=reference)

    @_engine_call(retry=False, subject='image')
    def save_image(self, ref, chunk_size=1024 * 1024):
        """A ``docker save`` archive of ``ref``, as a generator of chunks."""
        return self.api.get_image(ref, chunk_size=chunk_size)

    # -- containers -------------------------------------------------------

    @_engine_call(retry=False, changes_containers=True)
    def create_container(self, name, image, command, hostname, labels,
                         host_config, terminal=False, read_only_mounts=(),
                         log_config=None):
        """Create a container. ``terminal``: the process gets a terminal
        and an open stdin, for a console to attach to (``docker run
        -it``). ``read_only_mounts`` are (host directory, container path)
        pairs, bound read-only; a missing host directory is an error,
        never made empty. ``log_config``: ``{'type', 'config'}`` of the
        engine's log driver for it, None for the engine's default."""
        mounts = [docker.types.Mount(target, source, type='bind',
                                     read_only=True)
                  for source, target in read_only_mounts]
        if log_config is not None:
            host_config = dict(host_config, log_config=docker.types.LogConfig(
                type=log_config['type'], config=log_config['config']))
        config = self.api.create_host_config(mounts=mounts or None,
                                             **host_config)
        created = self.api.create_container(
            image=image, command=command, hostname=hostname, labels=labels,
            name=name, host_config=config, network_disabled=False,
            detach=True, tty=terminal, stdin_open=terminal)
        return created['Id']

    @_engine_call(retry=True)
    def put_archive(self, name, path, data):
        """Unpack the tar ``data`` into the container's files at ``path``.

        Works on a created container that never ran; the engine resolves
        paths inside the container's root.
        """
        self.api.put_archive(name, path, data)

    @_engine_call(retry=False, changes_containers=True)
    def rename(self, name, new_name):
        self.api.rename(name, new_name)

    @_engine_call(retry=True)
    def update_limits(self, name, limits):
        """Change a container's resource limits (``docker update``).

        ``limits`` uses the names of ``create_host_config``: ``mem_limit``,
        ``memswap_limit``, ``cpu_period``, ``cpu_quota``, ``cpu_shares``.
        """
        self.api.update_container(name, **limits)

    @_engine_call(retry=True)
    def inspect_container(self, name):
        return self.api.inspect_container(name)

    @_engine_call(retry=True)
    def list_containers(self, labels):
        filters = {'label': ['%s=%s' % kv for kv in sorted(labels.items())]}
        return self.api.containers(all=True, filters=filters)

    @_engine_call(retry=True, changes_containers=True)
    def start(self, name):
        self.api.start(name)

    @_engine_call(retry=True, changes_containers=True)
    def stop(self, name, timeout):
        # The engine sends SIGTERM, waits ``timeout`` seconds, then SIGKILL;
        # the SDK lengthens the HTTP timeout by as much.
        self.api.stop(name, timeout=timeout)

    @_engine_call(retry=True, changes_containers=True)
    def kill(self, name, signal='SIGKILL'):
        self.api.kill(name, signal=signal)

    @_engine_call(retry=False, changes_containers=True)
    def pause(self, name):
        self.api.pause(name)

    @_engine_call(retry=False, changes_containers=True)
    def unpause(self, name):
        self.api.unpause(name)

    @_engine_call(retry=True, changes_containers=True)
    def remove_container(self, name):
        self.api.remove_container(name, force=True, v=True)

    @_engine_call(retry=True)
    def logs(self, name, tail_lines):
        return self.api.logs(name, stdout=True, stderr=True,
                             tail=tail_lines, timestamps=False)

    def last_output(self, name, lines=20):
        """The container's last ``lines`` of output, as text for a message.

        Why a container stopped is usually in them: they go into a failed
        spawn's fault and into the log line of a container that stopped on
        its own.
        """
        text = self.logs(name, lines).decode('utf-8', 'replace').strip()
        return text or '(none)'

    @_engine_call(retry=True)
    def stats(self, name):
        return self.api.stats(name, stream=False)

    @_engine_call(retry=False, changes_containers=True)
    def commit(self, name, repository, tag):
        return self.api.commit(name, repository=repository, tag=tag)['Id']

    def container_events(self, labels, actions, since=None):
        """A live stream of container events, as dicts, from ``since`` on.

        Only containers carrying all ``labels`` and only the ``actions``
        named (``start``, ``die``, ...) are reported. The stream has a
        connection of its own and no read timeout: it waits for the next
        event as long as it takes, ends when the engine goes away, and its
        ``close()`` ends it from another thread. Raises EngineUnavailable
        when the engine does not answer.
        """
        filters = {'type': ['container'], 'event': list(actions),
                   'label': ['%s=%s' % kv for kv in sorted(labels.items())]}
        api = None
        try:
            api = docker.APIClient(base_url=self.url,
                                   version=self.api.api_version)
            return _EventStream(api, api.events(since=since, filters=filters,
                                                decode=True))
        except (requests.exceptions.RequestException,
                docker_errors.DockerException) as exc:
            if api is not None:
                api.close()
            raise EngineUnavailable(url=self.url, reason=str(exc)) from exc

    # -- consoles ---------------------------------------------------------

    def attach(self, name):
        """A byte stream to the terminal of a container's process."""
        return self._upgrade(
            '/containers/%s/attach' % urlparse.quote(name),
            {'stream': 1, 'stdin': 1, 'stdout': 1, 'stderr': 1}, None, name)

    @_engine_call(retry=False)
    def exec_terminal(self, name, argv, environment=None):
        """Start ``argv`` in a container with a terminal of its own.

        Returns ``(exec id, engine_socket.EngineStream)``. The process
        keeps the container's user, capabilities, security profile,
        cgroup and namespaces; ``docker exec`` gives it nothing more.
        """
        created = self.api.exec_create(name, argv, stdin=True, tty=True,
                                       environment=environment)
        stream = self._upgrade('/exec/%s/start' % created['Id'], {},
                               {'Detach': False, 'Tty': True}, name)
        return created['Id'], stream

    @_engine_call(retry=True)
    def exec_state(self, exec_id):
        """``docker exec inspect``: ``Running``, ``ExitCode``, ``Pid``."""
        return self.api.exec_inspect(exec_id)

    @_engine_call(retry=False)
    def exec_run(self, name, argv):
        """Run ``argv`` in a container to its end: (exit code, output)."""
        created = self.api.exec_create(name, argv)
        output = self.api.exec_start(created['Id'])
        return self.api.exec_inspect(created['Id'])['ExitCode'], output

    @_engine_call(retry=True)
    def file_exists(self, name, path):
        """Whether ``path`` exists in a container's file system."""
        response = self.api.head(
            self.api._url('/containers/{0}/archive', name),
            params={'path': path})
        if response.status_code == 404:
            # The container exists (or the engine says so with a 404 of
            # its own, translated like any other call's).
            self.api.inspect_container(name)
            return False
        self.api._raise_for_status(response)
        return True

    def _upgrade(self, path, query, body, name):
        """POST ``path`` and take over the connection as a byte stream."""
        if not self.url.startswith('unix://'):
            raise EngineError(call='attach', reason='consoles need a unix '
                              'socket engine_url, not %s' % self.url)
        try:
            answer, stream = engine_socket.upgrade(
                self.url[len('unix://'):], self.api.api_version, path,
                query, body, self._timeout)
        except OSError as exc:
            raise EngineUnavailable(url=self.url, reason=str(exc)) from exc
        if stream is not None:
            return stream
        if answer.status == 404:
            raise ContainerNotFound(name=name)
        if answer.status == 409:
            raise ContainerConflict(name=name, call='attach',
                                    reason=answer.message)
        raise EngineError(call='attach',
                          reason='%s %s' % (answer.status, answer.message))

    @_engine_call(retry=True)
    def wait_stopped(self, name, timeout):
        """Wait up to ``timeout`` seconds for the container to exit.

        The engine answers once the container is not running (at once if
        it already is not). Returns whether it exited in time.
        """
        try:
            self.api.wait(name, timeout=max(timeout, 0.1))
        except requests.exceptions.RequestException as exc:
            if not _is_read_timeout(exc):
                raise
            return False
        return True



class _EventStream:
    """Engine events on a connection of their own, closed with them."""

    def __init__(self, api, events):
        self._api = api
        self._events = events

    def __iter__(self):
        return iter(self._events)

    def close(self):
        self._events.close()
        self._api.close()

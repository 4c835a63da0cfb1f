#!/bin/bash
# shellcheck disable=SC2154  # devstack defines NOVA_*, GLANCE_*, ... vars
# devstack plugin of nova-pydock: Nova's compute driver for containers and
# the layered Glance store.
#
#   stack install      the container engine (tools/ensure-engine) and the
#                      project, into devstack's Python environment
#   stack post-config  nova-compute: compute_driver = pydock.PyDockDriver,
#                      [pydock], privsep through nova-rootwrap;
#                      nova-api, nova-scheduler: resize on the same host,
#                      nova-pydock's scheduler weigher;
#                      glance-api: the layers store as default backend,
#                      docker among container formats
#                      horizon: the settings containers need (serial
#                      Console tab, no volume sources) appended to its
#                      local_settings.py
#   stack extra        flavors c1.*, the busybox and busybox-ssh images (docker
#                      save archives), the pydock: extra specs as Glance
#                      metadefs, the demo project's quotas sized for
#                      containers (nova-compute's allocation ratios are set
#                      in post-config)
#   unstack / clean    nothing of the engine is stopped; clean removes the
#                      layered store's data
#
# What is configured comes from devstack/pydock_config.py, the same source
# tools/cloud uses.

PYDOCK_CONFIG="$PYDOCK_DIR/devstack/pydock_config.py"

# iniset every "section<TAB>key<TAB>value" line of pydock_config.py's
# output into the file $1.
function pydock_iniset_from {
    local file=$1
    shift
    local section key value
    while IFS=$'\t' read -r section key value; do
        iniset "$file" "$section" "$key" "$value"
    done < <(python3 "$PYDOCK_CONFIG" "$@")
}

function install_nova_pydock {
    local live_restore=0
    [ "$PYDOCK_ENGINE_LIVE_RESTORE" = True ] && live_restore=1
    PYDOCK_ENGINE_SOCKET=$PYDOCK_ENGINE_SOCKET \
        PYDOCK_ENGINE_LIVE_RESTORE=$live_restore \
        "$PYDOCK_DIR/tools/ensure-engine"
    setup_develop "$PYDOCK_DIR"
}

function configure_nova_pydock {
    local conf=${NOVA_CPU_CONF:-/etc/nova/nova-cpu.conf}
    pydock_iniset_from "$conf" nova-compute "unix://$PYDOCK_ENGINE_SOCKET" \
        "$PYDOCK_METADATA_ROUTE"
    if is_service_enabled n-sproxy; then
        pydock_iniset_from "$conf" serial-console \
            "ws://${SERVICE_HOST}:${SERIALPROXY_PORT:-6083}/" "$HOST_IP"
    fi
    # The driver's network plumbing runs in its own privsep daemon; start
    # it through nova-rootwrap like Nova's own contexts.
    iniset "$conf" pydock_net_admin helper_command \
        "sudo nova-rootwrap $NOVA_CONF_DIR/rootwrap.conf privsep-helper --config-file $conf"
    sudo install -d -m 755 "$NOVA_CONF_DIR/rootwrap.d"
    cat <<FILTERS | sudo tee "$NOVA_CONF_DIR/rootwrap.d/pydock.filters" >/dev/null
# nova-rootwrap filters of nova-pydock (written by its devstack plugin)
[Filters]
pydock-privsep-net_admin: RegExpFilter, privsep-helper, root, privsep-helper, --config-file, /etc/(?!\.\.).*, --privsep_context, nova_pydock.network.privsep.net_admin_pctxt, --privsep_sock_path, /tmp/.*
FILTERS
    # The driver talks to the engine's socket as the stack user.
    if getent group docker >/dev/null; then
        sudo usermod -a -G docker "$STACK_USER"
    fi
}

function configure_glance_pydock {
    local conf=${GLANCE_API_CONF:-/etc/glance/glance-api.conf}
    local data=${DATA_DIR:-/opt/stack/data}/glance
    sudo install -d -o "$STACK_USER" "$PYDOCK_LAYERS_DIR" \
        "$data/os_glance_staging_store" "$data/os_glance_tasks_store"
    pydock_iniset_from "$conf" glance-api "$PYDOCK_LAYERS_DIR" \
        "$PYDOCK_GLANCE_BACKEND" "$data/os_glance_staging_store" \
        "$data/os_glance_tasks_store"
}

function configure_horizon_pydock {
    local settings=$HORIZON_DIR/openstack_dashboard/local/local_settings.py
    python3 "$PYDOCK_CONFIG" horizon-containers >>"$settings"
}

function load_pydock_metadefs {
    "$GLANCE_BIN_DIR/glance-manage" --config-file "$GLANCE_API_CONF" \
        db_load_metadefs "$PYDOCK_DIR/etc/metadefs" True True
}

function create_pydock_flavors {
    local name ram vcpus disk specs spec props
    while IFS=$'\t' read -r name ram vcpus disk specs; do
        if ! openstack flavor show "$name" >/dev/null 2>&1; then
            openstack flavor create --ram "$ram" --vcpus "$vcpus" \
                --disk "$disk" --public "$name" >/dev/null
        fi
        props=()
        for spec in $specs; do
            props+=(--property "$spec")
        done
        openstack flavor set "${props[@]}" "$name"
    done < <(python3 "$PYDOCK_CONFIG" flavors)
}

function set_pydock_quotas {
    local project=$1 quota value args=()
    while IFS=$'\t' read -r quota value; do
        args+=("--$quota" "$value")
    done < <(python3 "$PYDOCK_CONFIG" quotas)
    openstack quota set "${args[@]}" "$project"
}

function upload_pydock_busybox {
    # Same recipe as tools/cloud: busybox-static rootfs -> docker import ->
    # docker save -> Glance (container_format docker, disk_format raw);
    # busybox-ssh adds Debian's dropbear to it.
    "$PYDOCK_DIR/tools/lib/apt.sh" dropbear-bin >/dev/null
    local python=${DEVSTACK_VENV:-/opt/stack/data/venv}/bin/python
    [ -x "$python" ] || python=python3
    # The stack user joined the docker group during this run: a new
    # group session gives this one command the engine's socket.
    sg docker -c "$python $PYDOCK_DIR/tools/cloud.d/provision.py image"
}

if is_service_enabled n-cpu g-api; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing nova-pydock and the container engine"
        install_nova_pydock
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        if is_service_enabled n-cpu; then
            echo_summary "Configuring nova-compute for containers"
            configure_nova_pydock
        fi
        if is_service_enabled n-api n-sch; then
            echo_summary "Configuring nova-api and nova-scheduler for container resize"
            pydock_iniset_from "$NOVA_CONF" nova-controller
        fi
        if is_service_enabled g-api; then
            echo_summary "Configuring glance-api with the layered store"
            configure_glance_pydock
        fi
        if is_service_enabled horizon; then
            echo_summary "Configuring Horizon for containers"
            configure_horizon_pydock
        fi
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if [[ "$PYDOCK_CREATE_FLAVORS" == "True" ]]; then
            echo_summary "Creating container flavors"
            create_pydock_flavors
        fi
        if [[ "$PYDOCK_UPLOAD_BUSYBOX" == "True" ]]; then
            echo_summary "Uploading the busybox container image"
            upload_pydock_busybox
        fi
        if is_service_enabled g-api; then
            echo_summary "Loading the pydock: extra specs into Glance's metadefs"
            load_pydock_metadefs
        fi
        if [[ "$PYDOCK_SET_QUOTAS" == "True" ]]; then
            echo_summary "Setting the $PYDOCK_QUOTA_PROJECT project's quotas for containers"
            set_pydock_quotas "$PYDOCK_QUOTA_PROJECT"
        fi
    fi
    if [[ "$1" == "clean" ]]; then
        sudo rm -rf "$PYDOCK_LAYERS_DIR"
    fi
fi

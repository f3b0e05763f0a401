/* SPDX-License-Identifier: MIT */
/*
 * fuzz_requests: busd's answers to the control requests of peers of
 * several uids (fuzz_request_format.h).
 *
 * Every input gets a busd of its own, started and stopped by busd's own
 * busd_start() and busd_stop() on a bus no other process uses, with the
 * queues, topics and route of a built-in configuration in /dev/shm.  Its
 * peers are socket pairs that busd_client_accept() takes as it takes a
 * connection; a request is put where the loop's recv() would put it and
 * answered by busd_handle_request(), as busd_client_on_receive() does, and
 * the harness reads the reply (and any fd) from its end of the pair.  The
 * io_uring loop itself never turns until busd_stop() drains it.
 *
 * Besides the sanitizers, fuzz_requests_check.c checks every reply and
 * the slot tables after every step, and this file checks that each input
 * leaves no segment, file or fd behind.
 */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "busd.h"
#include "clock.h"
#include "fuzz_input.h"
#include "fuzz_requests.h"
#include "handlers.h"
#include "topic_segment.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small rings, so that an input costs a millisecond rather than ten. */
static const char fuzz_config_text[] =
	"[bus]\n"
	"admin_group = 2000\n"
	"[queue work]\n"
	"slots = 16\nmax_message = 64\nmax_producers = 2\nmax_consumers = 2\n"
	"mode = 0666\nmax_deliveries = 3\ndead_letter = work.dead\n"
	"[queue work.dead]\n"
	"slots = 16\nmax_message = 64\nmax_producers = 1\nmax_consumers = 1\n"
	"[queue private]\n"
	"slots = 16\nmax_message = 64\nmax_producers = 2\nmax_consumers = 2\n"
	"owner = 1002\ngroup = 3000\nmode = 0460\n"
	"[queue pipe]\n"
	"type = spsc\nslots = 16\nmax_message = 64\nmode = 0604\n"
	"[topic news]\n"
	"slots = 16\nmax_message = 64\nmax_publishers = 2\n"
	"max_subscribers = 2\nhistory = 4\n"
	"owner = 1002\ngroup = 3000\nmode = 0640\n"
	"[topic prices.eu]\n"
	"slots = 16\nmax_message = 64\nmax_publishers = 1\n"
	"max_subscribers = 3\nslow_subscriber = overwrite\nmode = 0664\n"
	"[route reds]\n"
	"from = orders\nkey = *.red\nto = work, news\n";

/* A queue or topic bigger than this is not asked for: an admin may make
 * one, but its pages would count against the fuzzer's RSS limit. */
#define FUZZ_SEGMENT_MAX (UINT64_C(1) << 20)

static struct busd_config config;
static char fuzz_bus_name[BUS_NAME_MAX + 1];
/* On tmpfs: busd writes its access file at every create and delete, and
 * a disk's file system makes that a millisecond. */
static char runtime_dir[] = "/dev/shm/fuzz-requests-XXXXXX";
static sigset_t signal_mask;
static struct fuzz_session session;

void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_requests: %s\n", what);
	abort();
}

/* ---- set-up -------------------------------------------------------------- */

static void read_config(void)
{
	ssize_t size = (ssize_t)sizeof(fuzz_config_text) - 1;
	int fd = memfd_create("fuzz-requests-config", MFD_CLOEXEC);
	char path[64];

	if (fd < 0 || write(fd, fuzz_config_text, (size_t)size) != size)
		fuzz_fail("cannot write the configuration");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (busd_config_read(&config, path))
		fuzz_fail("the built-in configuration is refused");
	close(fd);
}

static int count_entries(const char *path, const char *prefix)
{
	DIR *dir = opendir(path);
	struct dirent *entry;
	int count = 0;

	if (!dir)
		fuzz_fail("cannot read a directory");
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] != '.' &&
		    !strncmp(entry->d_name, prefix, strlen(prefix)))
			count++;
	}
	closedir(dir);
	return count;
}

static void remove_runtime_dir(void)
{
	rmdir(runtime_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Measuring the TSC rate sleeps 20 ms at every start; HELLO then
	 * hands out 0, as on a host without a usable TSC. */
	bus__tsc_usable = false;
	if (!mkdtemp(runtime_dir) || setenv("BUS_RUNTIME_DIR", runtime_dir, 1))
		fuzz_fail("cannot make a runtime directory");
	atexit(remove_runtime_dir);
	/* ".bus": no other process's bus name starts with this one. */
	snprintf(fuzz_bus_name, sizeof(fuzz_bus_name), "fuzz-requests-%d.bus",
		 (int)getpid());
	read_config();
	sigprocmask(SIG_SETMASK, NULL, &signal_mask);
	return 0;
}

/* ---- peers --------------------------------------------------------------- */

/* Writes the credentials a peer of that kind would have given busd. */
static void impersonate(struct busd_client *client, enum fuzz_peer_kind kind)
{
	const struct fuzz_peer_identity *id = &fuzz_peer_identities[kind];

	busd_credentials_free(&client->credentials);
	client->credentials.uid = id->uid;
	client->credentials.gid = id->gid;
	client->identity.uid = id->uid;
	if (!id->group)
		return;
	client->credentials.groups = malloc(sizeof(gid_t));
	if (!client->credentials.groups)
		fuzz_fail("out of memory");
	client->credentials.groups[0] = id->group;
	client->credentials.group_count = 1;
}

static void peer_connect(struct fuzz_peer *peer, enum fuzz_peer_kind kind)
{
	struct busd *busd = &session.busd;
	struct busd_client *client;
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair))
		fuzz_fail("cannot make a socket pair");
	busd_client_accept(&busd->clients, pair[0]);
	client = busd->clients.list.head;
	if (!client || client->socket_fd != pair[0] || client->gone)
		fuzz_fail("busd did not take the connection");
	impersonate(client, kind);
	memset(peer, 0, sizeof(*peer));
	peer->kind = kind;
	peer->fd = pair[1];
	peer->client = client;
}

/* What busd_client_on_receive() does when the peer's socket hangs up. */
static void peer_hang_up(struct fuzz_peer *peer)
{
	busd_client_drop(&session.busd.clients, peer->client, "hung up");
	close(peer->fd);
	peer->fd = -1;
	peer->client = NULL;
}

/* ---- steps --------------------------------------------------------------- */

/* count bytes of the input, modulo size + 1, into field; the rest stays 0. */
static void read_field(struct fuzz_input *in, void *field, size_t count,
		       size_t size)
{
	fuzz_input_bytes(in, field, count % (size + 1));
}

static uint64_t read_generation(struct fuzz_input *in,
				const struct fuzz_peer *peer, const char *name)
{
	struct busd_registry *r = &session.busd.catalog.registry;
	const struct busd_queue *queue;
	const struct busd_topic *topic;

	switch (fuzz_input_u8(in)) {
	case FUZZ_GENERATION_ZERO:
		return 0;
	case FUZZ_GENERATION_LAST:
		return peer->last_generation;
	case FUZZ_GENERATION_CURRENT:
		if (!memchr(name, '\0', BUS_NAME_MAX + 1))
			return 0;
		queue = busd_registry_find(r, name);
		topic = busd_registry_find_topic(r, name);
		if (queue)
			return queue->geometry.header->created_ns;
		return topic ? topic->geometry.header->created_ns : 0;
	}
	return fuzz_input_u64(in);
}

static void read_request(struct fuzz_input *in, const struct fuzz_peer *peer,
			 struct bus_control_request *request, bool raw)
{
	memset(request, 0, sizeof(*request));
	request->magic = raw ? fuzz_input_u32(in) : BUS_CONTROL_MAGIC;
	request->version = raw ? fuzz_input_u32(in) : BUS_CONTROL_VERSION;
	request->op = fuzz_input_u8(in);
	request->role = fuzz_input_u8(in);
	request->attachment = fuzz_input_u32(in);
	request->index = fuzz_input_u32(in);
	read_field(in, request->name, fuzz_input_u8(in),
		   sizeof(request->name));
	request->generation = read_generation(in, peer, request->name);
	read_field(in, &request->settings, fuzz_input_u16(in), FUZZ_UNION_MAX);
	read_field(in, &request->access, fuzz_input_u8(in),
		   sizeof(request->access));
}

/* ---- inputs -------------------------------------------------------------- */

static bool too_big(const struct bus_control_request *r)
{
	char detail[BUS_CONTROL_DETAIL_MAX];

	if (r->op == BUS_CONTROL_CREATE)
		return !bus__queue_settings_check(&r->settings, detail,
						  sizeof(detail)) &&
		       bus__queue_segment_size(&r->settings) >
			       FUZZ_SEGMENT_MAX;
	if (r->op == BUS_CONTROL_TOPIC_CREATE)
		return !bus__topic_settings_check(&r->topic_settings, detail,
						  sizeof(detail)) &&
		       bus__topic_segment_size(&r->topic_settings) >
			       FUZZ_SEGMENT_MAX;
	return false;
}

static void hang_up_and_reconnect(struct fuzz_peer *peer)
{
	enum fuzz_peer_kind kind = peer->kind;

	peer_hang_up(peer);
	fuzz_check_slots(&session.busd);
	peer_connect(peer, kind);
}

static void run_step(struct fuzz_input *in)
{
	struct bus_control_request request;
	uint8_t selector = fuzz_input_u8(in);
	size_t length = sizeof(request);
	struct fuzz_peer *peer;

	if ((selector & FUZZ_PEER_MASK) == FUZZ_HANG_UP) {
		hang_up_and_reconnect(
			&session.peers[fuzz_input_u8(in) % FUZZ_PEERS]);
		return;
	}
	peer = &session.peers[selector & FUZZ_PEER_MASK];
	if (selector & FUZZ_ODD_LENGTH)
		length = 1 + fuzz_input_u16(in) % FUZZ_PACKET_MAX;
	read_request(in, peer, &request, selector & FUZZ_RAW_HEADER);
	if (too_big(&request))
		return;
	/* As recv() would: what lies past the packet stays as it was. */
	memcpy(peer->client->in.bytes, &request,
	       length < sizeof(request) ? length : sizeof(request));
	if (busd_handle_request(&session.busd.handlers, peer->client, length))
		fuzz_fail("busd could not send its reply");
	fuzz_check_reply(&session.busd, peer, &request, length);
	fuzz_check_slots(&session.busd);
}

/* What busd_stop() must have removed: all of it.  fds are counted around
 * each input, since libFuzzer opens some of its own after start-up. */
static void check_clean(int fd_count)
{
	char prefix[NAME_MAX];

	snprintf(prefix, sizeof(prefix), "shmbus.%s", fuzz_bus_name);
	if (count_entries("/dev/shm", prefix))
		fuzz_fail("a segment of the bus outlived busd_stop()");
	if (count_entries(runtime_dir, ""))
		fuzz_fail("a file in the runtime directory outlived "
			  "busd_stop()");
	if (count_entries("/proc/self/fd", "") != fd_count)
		fuzz_fail("an fd leaked");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };
	int fd_count = count_entries("/proc/self/fd", "");

	if (busd_start(&session.busd, fuzz_bus_name, &config))
		fuzz_fail("busd does not start");
	/* busd_start() blocked SIGINT and SIGTERM for its signalfd; the
	 * harness never reads that, and libFuzzer wants them. */
	sigprocmask(SIG_SETMASK, &signal_mask, NULL);
	for (int i = 0; i < FUZZ_PEERS; i++)
		peer_connect(&session.peers[i],
			     fuzz_input_u8(&in) % FUZZ_PEER_KIND_COUNT);
	for (int step = 0; step < FUZZ_STEPS_MAX && !fuzz_input_done(&in);
	     step++)
		run_step(&in);
	/* Before busd stops: it keeps, for the next busd, every queue that a
	 * client is still attached to. */
	for (int i = 0; i < FUZZ_PEERS; i++)
		peer_hang_up(&session.peers[i]);
	busd_stop(&session.busd);
	check_clean(fd_count);
	return 0;
}

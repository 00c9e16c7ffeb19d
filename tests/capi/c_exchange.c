/* A whole therapy exchange driven from C99 through sotto/sotto.h only, as an
 * app developer writing C (or an FFI) would: a therapist enrolled by the
 * operator and a client who joins with the therapist's invite exchange
 * texts and letters both ways, sync, read their history, compare safety
 * numbers, and the therapist works the queue and closes the conversation.
 *
 *   c_exchange SERVER_ADDRESS ENROLMENT_CODE WORK_DIR
 *
 * The enrolment code is for the handle "dr-c". Exits 0 when every step
 * behaved; otherwise prints the step, status and message and exits 1.
 * Run by c_exchange_test (tests/capi/c_exchange_test.cc), which starts the
 * real server. Every object the library returns is freed here, so that a
 * run under a leak checker finds nothing. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/sotto.h"

static int failures = 0;

/* Checks a call's status; prints and counts a failure. Frees *errmsg (a
 * pointer to it: C leaves the order of argument evaluation open, so the
 * message must be read after the call, not passed beside it). */
static int ok(const char* step, int status, char** errmsg) {
  if (status != SOTTO_OK) {
    fprintf(stderr, "FAIL %s: %s: %s\n", step, sotto_status_name(status),
            *errmsg != NULL ? *errmsg : "(no message)");
    ++failures;
  }
  sotto_free_string(*errmsg);
  *errmsg = NULL;
  return status == SOTTO_OK;
}

static void expect(const char* what, int condition) {
  if (!condition) {
    fprintf(stderr, "FAIL expected: %s\n", what);
    ++failures;
  }
}

static const char kPassphrase[] = "correct horse battery staple";

static sotto_client* register_party(const char* address, const char* dir, const char* handle,
                                    sotto_role role, const char* code) {
  sotto_client* client = NULL;
  char* err = NULL;
  sotto_register_options* o = sotto_register_options_create();
  sotto_register_options_set_profile_dir(o, dir);
  sotto_register_options_set_server_address(o, address);
  sotto_register_options_set_handle(o, handle);
  sotto_register_options_set_role(o, role);
  sotto_register_options_set_passphrase(o, kPassphrase, strlen(kPassphrase));
  sotto_register_options_set_fast_key_derivation_for_tests(o, 1);
  if (role == SOTTO_ROLE_THERAPIST) {
    sotto_register_options_set_enrolment_code(o, code);
  } else {
    sotto_register_options_set_invite_code(o, code);
  }
  ok(handle, sotto_client_register(o, &client, &err), &err);
  sotto_register_options_destroy(o);
  return client;
}

/* Syncs and returns how many new messages arrived (-1 on error). */
static int sync_count(sotto_client* client) {
  sotto_sync_stats* stats = NULL;
  char* err = NULL;
  int received = -1;
  if (ok("sync", sotto_sync(client, &stats, &err), &err)) {
    received = sotto_sync_stats_received(stats);
  }
  sotto_sync_stats_free(stats);
  return received;
}

/* The therapist's side after the client wrote: queue, history, answers. */
static void therapist_answers(sotto_client* dr) {
  char* err = NULL;
  sotto_queue* queue = NULL;
  sotto_message_list* history = NULL;
  const sotto_message* letter;
  size_t len = 0;
  const char* text;

  expect("the therapist receives the text and the letter", sync_count(dr) == 3);
  if (ok("queue", sotto_queue_list(dr, 0, &queue, &err), &err)) {
    expect("one conversation waits", sotto_queue_count(queue) == 1);
    expect("it is pat's", strcmp(sotto_queue_entry_client(sotto_queue_get(queue, 0)), "pat") == 0);
    expect("three messages wait", sotto_queue_entry_waiting_count(sotto_queue_get(queue, 0)) == 3);
    expect("the server's clock is given", sotto_queue_now_ms(queue) > 0);
  }
  sotto_queue_free(queue);

  if (!ok("read", sotto_read_conversation(dr, "pat", &history, &err), &err)) return;
  expect("three messages from pat", sotto_message_list_count(history) == 3);
  text = sotto_message_text(sotto_message_list_get(history, 0), &len);
  expect("the text arrives", len == 15 && memcmp(text, "hello, dr. c :)", len) == 0);
  text = sotto_message_text(sotto_message_list_get(history, 1), &len);
  expect("a NUL byte in a body survives", len == 3 && memcmp(text, "a\0b", 3) == 0);
  letter = sotto_message_list_get(history, 2);
  expect("the letter is a letter", sotto_message_kind_of(letter) == SOTTO_KIND_LETTER);
  expect("its subject arrives",
         strcmp(sotto_message_subject(letter, NULL), "About next week") == 0);
  expect("incoming", sotto_message_outgoing(letter) == 0);

  ok("reply text", sotto_send_text(dr, "pat", "Got it.", 7, 0, NULL, &err), &err);
  {
    /* The answer to the letter, in its thread, found by an id prefix. */
    char prefix[9];
    sotto_send_result* sent = NULL;
    memcpy(prefix, sotto_message_id(letter), 8);
    prefix[8] = '\0';
    if (ok("reply letter", sotto_reply(dr, prefix, "See you Tuesday.", 16, 0, &sent, &err), &err)) {
      const sotto_message* m = sotto_send_result_message(sent);
      expect("the reply is a letter", sotto_message_kind_of(m) == SOTTO_KIND_LETTER);
      expect("in the letter's thread",
             strcmp(sotto_message_thread_id(m), sotto_message_id(letter)) == 0);
    }
    sotto_send_result_free(sent);
  }
  sotto_message_list_free(history);
}

static void client_writes(sotto_client* pat) {
  char* err = NULL;
  sotto_send_result* sent = NULL;
  if (ok("send text", sotto_send_text(pat, "dr-c", "hello, dr. c :)", 15, 0, &sent, &err), &err)) {
    const sotto_message* m = sotto_send_result_message(sent);
    expect("the id is 32 hex", strlen(sotto_message_id(m)) == 32);
    expect("sent", sotto_message_state(m) == SOTTO_STATE_SENT);
    expect("a client writing to a therapist learns when to expect a reply",
           sotto_send_result_has_expectation(sent) && sotto_send_result_due_ms(sent) > 0);
  }
  sotto_send_result_free(sent);
  ok("send NUL", sotto_send_text(pat, "dr-c", "a\0b", 3, 0, NULL, &err), &err);
  ok("send letter",
     sotto_send_letter(pat, "dr-c", "About next week", 15, "Can we move to Tuesday?", 23, 0, NULL,
                       &err),
     &err);
}

static void client_reads(sotto_client* pat) {
  char* err = NULL;
  sotto_message_list* history = NULL;
  sotto_conversation_list* conversations = NULL;
  sotto_link_list* links = NULL;

  expect("the client receives both answers", sync_count(pat) == 2);
  if (ok("read", sotto_read_conversation(pat, "dr-c", &history, &err), &err)) {
    const sotto_message* last;
    expect("five messages in pat's history", sotto_message_list_count(history) == 5);
    last = sotto_message_list_get(history, 4);
    expect("the letter answer reads Re:",
           strcmp(sotto_message_subject(last, NULL), "Re: About next week") == 0);
    expect("out of range is NULL", sotto_message_list_get(history, 5) == NULL);
  }
  sotto_message_list_free(history);
  if (ok("conversations", sotto_list_conversations(pat, &conversations, &err), &err)) {
    expect("one conversation", sotto_conversation_list_count(conversations) == 1);
    expect("with dr-c",
           strcmp(sotto_conversation_peer(sotto_conversation_list_get(conversations, 0)), "dr-c") ==
               0);
  }
  sotto_conversation_list_free(conversations);
  if (ok("links", sotto_list_links(pat, &links, &err), &err)) {
    expect("one active link",
           sotto_link_list_count(links) == 1 && sotto_link_active(sotto_link_list_get(links, 0)));
  }
  sotto_link_list_free(links);
}

/* Both sides compute the same safety number; the client marks it verified. */
static void compare_safety_numbers(sotto_client* dr, sotto_client* pat) {
  char* err = NULL;
  sotto_safety_number* a = NULL;
  sotto_safety_number* b = NULL;
  if (ok("number dr", sotto_safety_number_get(dr, "pat", &a, &err), &err) &&
      ok("number pat", sotto_safety_number_get(pat, "dr-c", &b, &err), &err)) {
    expect("60 digits", strlen(sotto_safety_number_digits(a)) == 60);
    expect("the same on both devices",
           strcmp(sotto_safety_number_digits(a), sotto_safety_number_digits(b)) == 0);
  }
  sotto_safety_number_free(a);
  sotto_safety_number_free(b);
  ok("verify", sotto_mark_verified(pat, "dr-c", &err), &err);
}

static void therapist_closes(sotto_client* dr) {
  char* err = NULL;
  sotto_queue* queue = NULL;
  ok("close", sotto_queue_close(dr, "pat", &err), &err);
  if (ok("queue all", sotto_queue_list(dr, 1, &queue, &err), &err)) {
    expect("closed", sotto_queue_count(queue) == 1 &&
                         sotto_queue_entry_state(sotto_queue_get(queue, 0)) == SOTTO_CONV_CLOSED);
  }
  sotto_queue_free(queue);
}

static void lock_and_unlock(sotto_client* pat) {
  char* err = NULL;
  int locked = -1;
  sotto_conversation_list* conversations = NULL;
  ok("lock", sotto_client_lock(pat, &err), &err);
  ok("is_locked", sotto_client_is_locked(pat, &locked, &err), &err);
  expect("locked", locked == 1);
  expect("a locked client refuses to read",
         sotto_list_conversations(pat, &conversations, &err) == SOTTO_FAILED_PRECONDITION &&
             conversations == NULL && err != NULL);
  sotto_free_string(err);
  err = NULL;
  expect("a wrong passphrase keeps it locked",
         sotto_client_unlock(pat, "nope", 4, &err) == SOTTO_PERMISSION_DENIED);
  sotto_free_string(err);
  err = NULL;
  ok("unlock", sotto_client_unlock(pat, kPassphrase, strlen(kPassphrase), &err), &err);
}

int main(int argc, char** argv) {
  char dir[4096];
  char* err = NULL;
  char* invite = NULL;
  sotto_client* dr;
  sotto_client* pat = NULL;
  if (argc != 4) {
    fprintf(stderr, "usage: %s SERVER_ADDRESS ENROLMENT_CODE WORK_DIR\n", argv[0]);
    return 2;
  }
  printf("libsotto %s (header %d.%d.%d)\n", sotto_version(), SOTTO_VERSION_MAJOR,
         SOTTO_VERSION_MINOR, SOTTO_VERSION_PATCH);

  snprintf(dir, sizeof dir, "%s/dr-c", argv[3]);
  dr = register_party(argv[1], dir, "dr-c", SOTTO_ROLE_THERAPIST, argv[2]);
  if (dr == NULL) return 1;
  expect("a therapist", sotto_client_role(dr) == SOTTO_ROLE_THERAPIST);
  if (ok("invite", sotto_create_invite(dr, 0, &invite, NULL, &err), &err)) {
    int committed = 0;
    ok("parse", sotto_parse_invite_code(invite, &committed, &err), &err);
    expect("the invite commits to the therapist's key", committed == 1);
    snprintf(dir, sizeof dir, "%s/pat", argv[3]);
    pat = register_party(argv[1], dir, "pat", SOTTO_ROLE_CLIENT, invite);
  }
  sotto_free_string(invite);
  if (pat != NULL) {
    expect("pat's handle", strcmp(sotto_client_handle(pat), "pat") == 0);
    client_writes(pat);
    therapist_answers(dr);
    client_reads(pat);
    compare_safety_numbers(dr, pat);
    therapist_closes(dr);
    lock_and_unlock(pat);
  }
  sotto_client_close(pat);
  sotto_client_close(dr);
  if (failures == 0) printf("c_exchange: every step passed\n");
  return failures == 0 ? 0 : 1;
}

// An example aggregate for the Repository tests: a group chat room.
//
// Commands: create, rename, add and remove members, post, edit and delete messages, delete
// the chat. Rules: only members may act (the creator is the first member); only a message's
// author may edit or delete it; a deleted chat rejects every command. Commands that change
// nothing (rename to the same name, add an existing member) are accepted with no events.
//
// Events and state have JSON codecs (to_json/from_json), so the Repository's default
// JsonEventCodec / JsonSnapshotCodec work with it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "kiroku/aggregate.h"

namespace kiroku::groupchat {

// ---- events ----
struct ChatCreated {
  static constexpr std::string_view kType = "ChatCreated";
  std::string name, by;
};
struct ChatRenamed {
  static constexpr std::string_view kType = "ChatRenamed";
  std::string name, by;
};
struct MemberAdded {
  static constexpr std::string_view kType = "MemberAdded";
  std::string member, by;
};
struct MemberRemoved {
  static constexpr std::string_view kType = "MemberRemoved";
  std::string member, by;
};
struct MessagePosted {
  static constexpr std::string_view kType = "MessagePosted";
  uint64_t message_id = 0;
  std::string author, text;
};
struct MessageEdited {
  static constexpr std::string_view kType = "MessageEdited";
  uint64_t message_id = 0;
  std::string text;
};
struct MessageDeleted {
  static constexpr std::string_view kType = "MessageDeleted";
  uint64_t message_id = 0;
  std::string by;
};
struct ChatDeleted {
  static constexpr std::string_view kType = "ChatDeleted";
  std::string by;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ChatCreated, name, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ChatRenamed, name, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemberAdded, member, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemberRemoved, member, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MessagePosted, message_id, author, text)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MessageEdited, message_id, text)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MessageDeleted, message_id, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ChatDeleted, by)

using Event = std::variant<ChatCreated, ChatRenamed, MemberAdded, MemberRemoved, MessagePosted,
                           MessageEdited, MessageDeleted, ChatDeleted>;

// ---- commands ----
struct Create {
  std::string name, by;
};
struct Rename {
  std::string name, by;
};
struct AddMember {
  std::string member, by;
};
struct RemoveMember {
  std::string member, by;
};
struct Post {
  std::string author, text;
};
struct Edit {
  uint64_t message_id = 0;
  std::string text, by;
};
struct DeleteMessage {
  uint64_t message_id = 0;
  std::string by;
};
struct DeleteChat {
  std::string by;
};
using Command =
    std::variant<Create, Rename, AddMember, RemoveMember, Post, Edit, DeleteMessage, DeleteChat>;

// ---- state ----
struct Message {
  std::string author, text;
  bool deleted = false;
  bool operator==(const Message&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Message, author, text, deleted)

struct State {
  bool created = false;
  bool deleted = false;
  std::string name;
  std::set<std::string> members;
  std::map<uint64_t, Message> messages;
  uint64_t next_message_id = 0;
  bool operator==(const State&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(State, created, deleted, name, members, messages,
                                   next_message_id)

struct GroupChat {
  using State = groupchat::State;
  using Event = groupchat::Event;
  using Command = groupchat::Command;
  static constexpr std::string_view kCategory = "chat";

  static void Apply(State& s, const Event& event) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, ChatCreated>) {
            s.created = true;
            s.name = e.name;
          } else if constexpr (std::is_same_v<T, ChatRenamed>) {
            s.name = e.name;
          } else if constexpr (std::is_same_v<T, MemberAdded>) {
            s.members.insert(e.member);
          } else if constexpr (std::is_same_v<T, MemberRemoved>) {
            s.members.erase(e.member);
          } else if constexpr (std::is_same_v<T, MessagePosted>) {
            s.messages[e.message_id] = Message{e.author, e.text, false};
            s.next_message_id = e.message_id + 1;
          } else if constexpr (std::is_same_v<T, MessageEdited>) {
            s.messages[e.message_id].text = e.text;
          } else if constexpr (std::is_same_v<T, MessageDeleted>) {
            s.messages[e.message_id].deleted = true;
            s.messages[e.message_id].text.clear();
          } else if constexpr (std::is_same_v<T, ChatDeleted>) {
            s.deleted = true;
          }
        },
        event);
  }

  static Decision<Event> Decide(const State& s, const Command& command) {
    using D = Decision<Event>;
    if (s.deleted) return D::Reject("chat_deleted", "the chat was deleted");
    if (!std::holds_alternative<Create>(command) && !s.created) {
      return D::Reject("no_such_chat", "the chat does not exist");
    }
    auto member = [&](const std::string& who) { return s.members.count(who) > 0; };
    auto live_message = [&](uint64_t id) -> const Message* {
      auto it = s.messages.find(id);
      return it == s.messages.end() || it->second.deleted ? nullptr : &it->second;
    };
    return std::visit(
        [&](const auto& c) -> D {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, Create>) {
            if (s.created) return D::Reject("already_exists", "the chat already exists");
            if (c.name.empty()) return D::Reject("invalid_name", "a chat needs a name");
            if (c.by.empty()) return D::Reject("invalid_member", "a chat needs a creator");
            return D::Accept(ChatCreated{c.name, c.by}, MemberAdded{c.by, c.by});
          } else {
            if (!member(c.by_or_author())) {
              return D::Reject("not_a_member", "only members may do that");
            }
            return DecideAsMember(s, c, live_message);
          }
        },
        WithActor(command));
  }

 private:
  // Commands with a uniform accessor for who is acting.
  template <typename C>
  struct Acting : C {
    const std::string& by_or_author() const {
      if constexpr (std::is_same_v<C, Post>) {
        return this->author;
      } else {
        return this->by;
      }
    }
  };
  using ActingCommand =
      std::variant<Create, Acting<Rename>, Acting<AddMember>, Acting<RemoveMember>, Acting<Post>,
                   Acting<Edit>, Acting<DeleteMessage>, Acting<DeleteChat>>;
  static ActingCommand WithActor(const Command& c) {
    return std::visit(
        [](const auto& v) -> ActingCommand {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Create>) {
            return v;
          } else {
            return Acting<T>{v};
          }
        },
        c);
  }

  template <typename C, typename LiveMessage>
  static Decision<Event> DecideAsMember(const State& s, const C& c, LiveMessage live_message) {
    using D = Decision<Event>;
    if constexpr (std::is_same_v<C, Acting<Rename>>) {
      if (c.name.empty()) return D::Reject("invalid_name", "a chat needs a name");
      if (c.name == s.name) return D();
      return D::Accept(ChatRenamed{c.name, c.by});
    } else if constexpr (std::is_same_v<C, Acting<AddMember>>) {
      if (c.member.empty()) return D::Reject("invalid_member", "empty member name");
      if (s.members.count(c.member)) return D();
      return D::Accept(MemberAdded{c.member, c.by});
    } else if constexpr (std::is_same_v<C, Acting<RemoveMember>>) {
      if (!s.members.count(c.member)) return D::Reject("not_a_member", c.member + " is no member");
      return D::Accept(MemberRemoved{c.member, c.by});
    } else if constexpr (std::is_same_v<C, Acting<Post>>) {
      if (c.text.empty()) return D::Reject("empty_message", "a message needs text");
      return D::Accept(MessagePosted{s.next_message_id, c.author, c.text});
    } else if constexpr (std::is_same_v<C, Acting<Edit>>) {
      const Message* m = live_message(c.message_id);
      if (!m) return D::Reject("no_such_message", "no message " + std::to_string(c.message_id));
      if (m->author != c.by) return D::Reject("not_author", "only the author may edit");
      if (c.text.empty()) return D::Reject("empty_message", "a message needs text");
      return D::Accept(MessageEdited{c.message_id, c.text});
    } else if constexpr (std::is_same_v<C, Acting<DeleteMessage>>) {
      const Message* m = live_message(c.message_id);
      if (!m) return D::Reject("no_such_message", "no message " + std::to_string(c.message_id));
      if (m->author != c.by) return D::Reject("not_author", "only the author may delete");
      return D::Accept(MessageDeleted{c.message_id, c.by});
    } else {
      static_assert(std::is_same_v<C, Acting<DeleteChat>>);
      return D::Accept(ChatDeleted{c.by});
    }
  }
};

}  // namespace kiroku::groupchat

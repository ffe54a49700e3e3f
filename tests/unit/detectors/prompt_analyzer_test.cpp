#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "detectors/prompt_analyzer.hpp"
#include "detectors/template_signature.hpp"
#include "detectors/text_normalize.hpp"
#include "tests/unit/detectors/normalize_reference.hpp"
#include "tests/unit/detectors/corpus.hpp"

using dg::detectors::PromptAnalyzer;
using dg::detectors::PromptText;
using dg::detectors::ReasoningLexicon;

namespace {

const PromptAnalyzer& analyzer() {
  static const PromptAnalyzer a(ReasoningLexicon::defaults());
  return a;
}

dg::detectors::PromptFeatures user(const std::string& text) { return analyzer().analyze(PromptText{"", text}); }

std::string norm(std::string_view s, bool lines = true) {
  std::string out;
  dg::detectors::prompt::normalize(s, out, lines);
  return out;
}

}  // namespace

TEST_CASE("normalize lowercases ASCII, Latin-1 and Cyrillic and collapses whitespace", "[detectors]") {
  CHECK(norm("  Hello \t WORLD\r\n\n\n\nNext ") == "hello world\n\nnext");
  CHECK(norm("Line one\nLine two") == "line one\nline two");
  CHECK(norm("Line one\nLine two", false) == "line one line two");
  CHECK(norm("ÉTAPE PAR ÉTAPE") == "étape par étape");
  CHECK(norm("ПОЧЕМУ Ответ Ёж") == "почему ответ ёж");
  CHECK(norm("SCHRITT FÜR SCHRITT") == "schritt für schritt");
  CHECK(norm("一步一步\xE3\x80\x80思考") == "一步一步 思考");
  // Invalid UTF-8 passes through untouched (no crash, no reordering).
  CHECK(norm(std::string("A\xC3") ) == std::string("a\xC3"));
  CHECK(norm(std::string("\xD0")) == std::string("\xD0"));
}

TEST_CASE("step-by-step asks are markers, not answer-reasoning asks", "[detectors]") {
  auto f = user("Natalia sold clips to 48 of her friends. How many clips did she sell? Let's think step by step.");
  CHECK(f.reasoning_markers >= 1);
  CHECK_FALSE(f.asks_reasoning_for_answer);
  CHECK(user("What is the capital of France?").reasoning_markers == 0);
  CHECK_FALSE(user("What is the capital of France?").asks_reasoning_for_answer);
  // An eval template that ends in "Answer:" states nothing.
  CHECK_FALSE(user("Question: What is 2+2?\nAnswer:").asks_reasoning_for_answer);
}

TEST_CASE("asks for the reasoning behind a given answer, in several languages", "[detectors]") {
  const char* asks[] = {
      "Explain why the answer is 18.",
      "Janet has 16 eggs... The answer is 18. Explain step by step how to get there.",
      "Show the reasoning that leads to 42 for the following problem.",
      "Justify the answer: x = 7.",
      "Derive the answer from first principles.",
      "Please reason step by step, and put your final answer within \\boxed{}.",
      "Think step by step and put the final answer in \\boxed{}.",
      "答案是18。请解释为什么。",
      "La respuesta es 18. Explica por qué, paso a paso.",
      "La réponse est 18. Explique pourquoi.",
      "Die Antwort ist 18. Erkläre, warum die Antwort stimmt.",
      "Ответ равен 18. Объясни, почему.",
      "答えは18です。なぜそうなるのか説明してください。",
  };
  for (const char* p : asks) {
    INFO(p);
    CHECK(user(p).asks_reasoning_for_answer);
    // Only the \\boxed{} phrasings lack a stated answer.
    CHECK(user(p).states_answer == (std::string_view(p).find("boxed") == std::string_view::npos));
  }
  // A standing instruction in the system prompt is a chain-of-thought ask,
  // not a stated answer; an answer stated in the user turn with the demand
  // in the system prompt is.
  auto f = analyzer().analyze(PromptText{"Always explain why the answer is correct, step by step.", "What is 17*3?"});
  CHECK(f.asks_reasoning_for_answer);
  CHECK_FALSE(f.states_answer);
  CHECK(f.system_prompt_hash != 0);
  auto g = analyzer().analyze(PromptText{"Explain the reasoning.", "Q: What is 17*3? The answer is 51."});
  CHECK(g.states_answer);
}

TEST_CASE("few-shot exemplars with stated answers are not an answer-reasoning ask", "[detectors]") {
  auto f = user(
      "Q: There are 15 trees. Workers plant trees until there are 21. How many were planted?\n"
      "A: There are 15 trees originally. Then there were 21. So 21 - 15 = 6. The answer is 6.\n\n"
      "Q: If there are 3 cars and 2 more arrive, how many cars are there?\n"
      "A: 3 + 2 = 5. The answer is 5.\n\n"
      "Q: Janet has 16 eggs and eats 3. How many are left?\nA: Let's think step by step.");
  CHECK_FALSE(f.asks_reasoning_for_answer);
  CHECK(f.reasoning_markers >= 1);
}

TEST_CASE("negated or conditional answer phrases state no answer (RAG instructions)", "[detectors]") {
  const std::string context =
      "Context:\n[1] The warranty covers parts for two years. Customers often ask why the battery drains; "
      "the reason is background sync, which can be switched off.\n[2] Returns are accepted within 30 days.\n\n"
      "Question: How long is the warranty?";
  const char* systems[] = {
      "Answer only from the context below. If the answer is not in the context, say you don't know.",
      "Use the retrieved passages. If you cannot find the answer, explain why it is missing.",
      "Unless the answer is in the documents, reply 'unknown'. Explain nothing.",
  };
  for (const char* sys : systems) {
    INFO(sys);
    auto f = analyzer().analyze(PromptText{sys, context});
    CHECK_FALSE(f.states_answer);
    CHECK_FALSE(f.asks_reasoning_for_answer);
  }
  // The same phrases in the user turn, negated or conditional.
  CHECK_FALSE(user("If the answer is not in the text, explain why.").states_answer);
  CHECK_FALSE(user("The answer isn't in the manual. Why would that be?").states_answer);
  CHECK_FALSE(user("Whether the answer is yes depends on the plan. Why is that so?").states_answer);
  // An explain word far from the stated answer (inside a pasted document)
  // is not a demand for the answer's reasoning.
  std::string far = "Notes: the answer is 42 according to the sheet.\n\n";
  for (int i = 0; i < 10; ++i) far += "This paragraph is retrieved filler text about shipping and returns. ";
  far += "\n\nSome customers wonder why.";
  CHECK_FALSE(user(far).states_answer);
  // A real stated answer still counts, also with a negative answer.
  CHECK(user("Question: Is 91 prime?\nThe answer is no. Explain why, step by step.").states_answer);
}

TEST_CASE("a step-by-step ask next to a stated answer demands its reasoning", "[detectors]") {
  // No explain word: the demand is the step-by-step ask beside the answer.
  CHECK(user("A train leaves at 9 and arrives at 11. How long is the trip?\nWe know the result is 2 hours.\n"
             "Write out the step-by-step solution that produces it.")
            .states_answer);
  CHECK(user("Janet has 16 eggs and eats 3. The answer is 13. Show your work, step by step.").states_answer);
  // Without a stated answer a step-by-step ask stays a marker (CoT evals).
  auto f = user("Question: Janet has 16 eggs and eats 3. How many are left?\nThink step by step, then give the "
                "final answer after '####'.");
  CHECK_FALSE(f.states_answer);
  CHECK(f.reasoning_markers >= 1);
  // Far from the answer (a pasted document between them) it is no demand.
  std::string far = "Notes: the result is 42 according to the sheet.\n\n";
  for (int i = 0; i < 10; ++i) far += "This paragraph is retrieved filler text about shipping and returns. ";
  far += "\n\nSummarise the notes step by step.";
  CHECK_FALSE(user(far).states_answer);
}

TEST_CASE("a labelled short value states an answer, an empty label or a placeholder does not", "[detectors]") {
  const char* stated[] = {
      "Problem: Nate starts with 70 matches and drops 10. How many are left?\nCorrect answer: 60\n"
      "Write out the step-by-step solution that produces it.",
      "Problem: A shop sells 4 pens for $3. What do 12 pens cost?\nSolution: $9.\nJustify it.",
      "问题：小明有5个苹果，吃了2个，还剩几个？\n正确答案：3\n请一步一步推导。",
  };
  for (const char* p : stated) {
    INFO(p);
    CHECK(user(p).states_answer);
  }
  // An eval template: "Answer:" closes it, or names a placeholder.
  CHECK_FALSE(user("Question: What is 2+2?\nAnswer:").states_answer);
  CHECK_FALSE(user("Solve the following math problem step by step. The last line of your response should be of the "
                   "form \"Answer: $ANSWER\" (without quotes).\n\nWhat is 17*3?\n\nAnswer: $ANSWER")
                  .states_answer);
  // Few-shot exemplars label several answers: no single stated answer.
  CHECK_FALSE(user("Question: What is 2+3?\nAnswer: 5\n\nQuestion: What is 4+4?\nAnswer: 8\n\n"
                   "Question: What is 17*3?\nAnswer: Let's think step by step.")
                  .states_answer);
  // A long value is a sentence, not a stated answer.
  CHECK_FALSE(user("Result: the team scored 3 goals in the second half of the match\nExplain the tactics.")
                  .states_answer);
  // Labels are configurable and match as whole words.
  ReasoningLexicon none = ReasoningLexicon::defaults();
  none.answer_labels.clear();
  const PromptAnalyzer without(none);
  CHECK_FALSE(without.analyze(PromptText{"", stated[0]}).states_answer);
  CHECK_FALSE(user("Reanswer: 60\nExplain why.").states_answer);
}

TEST_CASE("ASCII phrases match at word starts only", "[detectors]") {
  auto hits = analyzer().scan(norm("please rederive the answer"));
  CHECK(hits.answer_reasoning == 0);
  CHECK(analyzer().scan(norm("please derive the answer")).answer_reasoning == 1);
  CHECK(analyzer().scan(norm("(derive the answer)")).answer_reasoning == 1);
}

TEST_CASE("a configured lexicon replaces the default", "[detectors]") {
  ReasoningLexicon lex;
  lex.answer_reasoning = {"Begründe Deine Lösung"};
  PromptAnalyzer a(lex);
  CHECK(a.analyze(PromptText{"", "Bitte BEGRÜNDE deine Lösung."}).asks_reasoning_for_answer);
  CHECK_FALSE(a.analyze(PromptText{"", "Explain why the answer is 5."}).asks_reasoning_for_answer);
}

TEST_CASE("template signature ignores filled-in slots", "[detectors]") {
  auto sig = [](const std::string& s) { return user(s).template_signature; };
  CHECK(sig("Classify the sentiment of this review: \"Great phone, fast delivery.\" Answer positive or negative.") ==
        sig("Classify the sentiment of this review: \"Terrible. Broke after 2 days and support never answered.\" "
            "Answer positive or negative."));
  CHECK(sig("Translate to French:\nThe cat sits on the mat.") == sig("Translate to French:\nI would like 3 coffees."));
  CHECK(sig("Order #12345 shipped on 2024-11-02") == sig("Order #999 shipped on 2023-01-15"));
  CHECK(sig("What is the capital of France?") != sig("Write a poem about the sea."));
  // Instruction / data / output cue: short data in the middle is the slot.
  CHECK(sig("Classify the sentiment of the review below.\n\nLoved it, would buy again.\n\nSentiment:") ==
        sig("Classify the sentiment of the review below.\n\nThe battery died after a week.\n\nSentiment:"));
  CHECK(sig("") == 0);
}

TEST_CASE("GSM8K questions in one instruction template share a signature, ShareGPT prompts do not", "[detectors]") {
  auto questions = dg::test::gsm8k(200);
  auto chats = dg::test::sharegpt(300);
  if (questions.empty() || chats.empty()) {
    WARN("prompt corpora not found under " << dg::test::shared_data_dir() << "; skipped");
    return;
  }
  // Three wrapper styles a harvester would use.
  auto header = [](const auto& qa) {
    return "Solve the following grade-school math problem.\n\nQuestion: " + qa.first +
           "\n\nThe answer is " + qa.second + ". Explain step by step why the answer is correct.";
  };
  auto multiline = [](const auto& qa) {
    return "You are a careful math tutor.\n\nProblem:\n" + qa.first + "\n\nFinal answer: " + qa.second +
           "\nShow the reasoning that leads to this answer.";
  };
  auto quoted = [](const auto& qa) {
    return "Here is a problem: \"" + qa.first + "\" Think step by step and put the final answer in \\boxed{}.";
  };
  for (int style = 0; style < 3; ++style) {
    std::map<std::uint64_t, int> counts;
    int asks = 0;
    for (const auto& qa : questions) {
      const auto text = style == 0 ? header(qa) : style == 1 ? multiline(qa) : quoted(qa);
      auto f = user(text);
      ++counts[f.template_signature];
      asks += f.asks_reasoning_for_answer;
    }
    INFO("style " << style << ": " << counts.size() << " distinct signatures");
    int top = 0;
    for (const auto& [s, n] : counts) top = std::max(top, n);
    CHECK(top >= static_cast<int>(questions.size() * 95 / 100));
    CHECK(asks == static_cast<int>(questions.size()));
  }
  // The same questions asked bare (no wrapper) are all different.
  std::set<std::uint64_t> bare;
  for (const auto& qa : questions) bare.insert(user(qa.first).template_signature);
  CHECK(bare.size() >= questions.size() * 98 / 100);

  // Unrelated real chat prompts: almost all distinct, and far apart.
  std::set<std::uint64_t> sigs;
  int near = 0, pairs = 0;
  std::vector<std::uint64_t> v;
  for (const auto& c : chats) v.push_back(user(c).template_signature);
  for (auto s : v) sigs.insert(s);
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    ++pairs;
    near += dg::detectors::prompt::signature_distance(v[i], v[i + 1]) <= 3;
  }
  INFO(sigs.size() << " distinct of " << v.size() << "; near pairs " << near << "/" << pairs);
  CHECK(sigs.size() >= v.size() * 90 / 100);
  CHECK(near <= pairs / 20);
}

TEST_CASE("Alpaca instructions have diverse templates and few answer-reasoning asks", "[detectors]") {
  auto items = dg::test::alpaca(1000);
  if (items.empty()) {
    WARN("alpaca corpus not found; skipped");
    return;
  }
  std::set<std::uint64_t> sigs;
  int asks = 0;
  for (const auto& p : items) {
    auto f = user(p);
    sigs.insert(f.template_signature);
    asks += f.asks_reasoning_for_answer;
  }
  INFO(sigs.size() << " distinct, " << asks << " asks");
  CHECK(sigs.size() >= items.size() * 80 / 100);
  CHECK(asks <= static_cast<int>(items.size() / 20));
}

TEST_CASE("long prompts are scanned at head and tail only", "[detectors]") {
  PromptAnalyzer a(ReasoningLexicon::defaults(), 1024);
  std::string doc = "Context:\n";
  for (int i = 0; i < 2000; ++i) doc += "lorem ipsum dolor sit amet ";
  auto f = a.analyze(PromptText{"", doc + "\n\nThe answer is 7. Explain why."});
  CHECK(f.asks_reasoning_for_answer);
  CHECK(f.normalized_chars > 20000);
}

TEST_CASE("normalize: the sixteen-bytes-at-a-time path equals the byte-wise rules", "[detectors]") {
  const auto reference = dg::test::normalize_reference;
  // Pieces chosen to land on every position of a sixteen-byte block: single
  // and double spaces and line breaks, tabs, the rewritten UTF-8 sequences
  // (also cut in half), other UTF-8 and visible ASCII runs of any length.
  const std::vector<std::string> pieces = {" ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\r\n", " \n ", "\xC3\x89",
                                           "\xC3\x97", "\xD0\x9F", "\xD0\xAF", "\xD0\x81", "\xC2\xA0", "\xE3\x80\x80",
                                           "\xE4\xB8\xAD", "\xC3", "\xD0", "\xE3\x80", ":", "AB", "Word",
                                           "lowercase", "MiXeD-CaSe_09"};
  std::mt19937_64 rng(3);
  for (int round = 0; round < 4000; ++round) {
    std::string s;
    const auto target = rng() % 160;
    while (s.size() < target) {
      if (rng() % 3 == 0) {
        s += pieces[rng() % pieces.size()];
      } else {
        const auto run = rng() % 20;
        for (std::size_t i = 0; i < run; ++i) s.push_back(static_cast<char>('!' + rng() % 94));
      }
    }
    for (bool lines : {true, false}) {
      INFO(s);
      CHECK(norm(s, lines) == reference(s, lines));
    }
  }
}

TEST_CASE("template signature: a word with a digit is a slot wherever it sits in the text", "[detectors]") {
  // Words are cut from sixteen-byte masks and hashed eight bytes at a time:
  // every offset and length must behave the same.
  for (std::size_t pad = 0; pad < 20; ++pad) {
    const std::string lead = "classify the sentiment " + std::string(pad, 'x') + " of this review";
    const auto plain = dg::detectors::prompt::template_signature(norm(lead + " 7 and answer positive or negative"));
    for (std::size_t len = 1; len < 28; ++len) {
      for (std::size_t digit_at : {std::size_t{0}, len / 2, len - 1}) {
        std::string word(len, 'q');
        word[digit_at] = '5';
        INFO("pad " << pad << " word " << word);
        CHECK(dg::detectors::prompt::template_signature(norm(lead + " " + word + " and answer positive or negative")) == plain);
      }
    }
  }
  // Words that differ only past their eighth byte are different words.
  const auto a = dg::detectors::prompt::template_signature("please summarize the supercalifragilistic article below now");
  const auto b = dg::detectors::prompt::template_signature("please summarize the supercalifragilistix article below now");
  CHECK(a != b);
}

TEST_CASE("lexicon scan finds phrases wherever they sit, also across the lane boundaries of long prompts", "[detectors]") {
  // The scan runs two or four interleaved lanes on text from 64 bytes; a phrase
  // must be found exactly once whatever its offset, so it is tried at every
  // offset (every third one in the longest texts).
  // A window wider than the texts: this is about lanes, not the window.
  const PromptAnalyzer wide(ReasoningLexicon::defaults(), 8192);
  std::string filler;
  while (filler.size() < 4000) filler += "lorem ipsum dolor sat amet consectetur ";  // no truncation spells "si"
  for (std::size_t len : {30u, 90u, 150u, 300u, 600u, 1001u, 1400u, 2600u}) {
    const std::size_t stride = len > 1100 ? 3 : 1;
    for (std::size_t at = 0; at <= len; at += stride) {
      const std::string text = filler.substr(0, at) + " Let's think step by step. 答案是18。 " + filler.substr(0, len - at);
      INFO("len " << len << " phrase at " << at);
      // "let's think", "think step", "step by step".
      CHECK(wide.analyze(PromptText{"", text}).reasoning_markers == 3);
      CHECK(wide.scan(norm(text)).step_by_step == 3);
      auto g = wide.analyze(PromptText{"", filler.substr(0, at) + " The answer is 18. Explain why. " + filler.substr(0, len - at)});
      CHECK(g.states_answer);
    }
  }
}

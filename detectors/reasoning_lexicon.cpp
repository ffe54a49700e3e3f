#include "detectors/reasoning_lexicon.hpp"

namespace dg::detectors {

// Phrases are written in normalized form (lowercase, single spaces). They are
// normalized again when the analyzer is built, so config authors may use
// capitals. Kept short and specific: every phrase costs nothing at match time
// (one Aho-Corasick automaton), but a vague phrase costs false positives.
ReasoningLexicon ReasoningLexicon::defaults() {
  ReasoningLexicon l;
  l.step_by_step = {
      // English
      "step by step", "step-by-step", "think step", "let's think", "lets think", "show your work",
      "show all your work", "show your reasoning", "show all reasoning", "show your steps", "chain of thought",
      "chain-of-thought", "reason through", "walk me through", "walk through the", "explain your reasoning",
      "explain each step", "reasoning process", "thought process", "detailed reasoning", "full reasoning",
      "complete reasoning", "reason carefully", "think carefully", "<think>", "intermediate steps",
      "explain your thinking", "show the steps",
      // Chinese
      "一步一步", "一步步", "逐步", "分步", "详细推理", "思考过程", "推理过程", "解题过程", "解题步骤",
      // Spanish
      "paso a paso", "muestra tu razonamiento", "explica tu razonamiento", "cadena de pensamiento",
      "razona", "muestra los pasos",
      // French
      "étape par étape", "pas à pas", "montre ton raisonnement", "montrez votre raisonnement",
      "explique ton raisonnement", "expliquez votre raisonnement", "chaîne de pensée",
      // German
      "schritt für schritt", "schrittweise", "rechenweg", "lösungsweg", "gedankengang",
      "erkläre deine überlegungen", "zeige deine überlegungen",
      // Russian
      "шаг за шагом", "пошагово", "по шагам", "ход решения", "ход рассуждений", "рассуждай",
      // Japanese
      "ステップバイステップ", "段階的に", "一歩ずつ", "順を追って", "思考過程", "推論過程", "解き方",
      // Portuguese
      "passo a passo", "mostre seu raciocínio", "explique seu raciocínio",
      // Korean
      "단계별로", "차근차근", "풀이 과정",
  };
  l.answer_reasoning = {
      // English
      "explain why the answer is", "explain why the correct answer is", "explain why this answer is",
      "explain how the answer", "explain how to get the answer", "explain how to arrive at",
      "show the reasoning that leads to", "reasoning that leads to the answer", "reasoning that led to",
      "steps that lead to the answer", "reasoning behind the answer", "reasoning behind this answer",
      "reasoning behind the solution", "justify the answer", "justify this answer", "justify the given answer",
      "justify why", "derive the answer", "derive the final answer", "derive the result", "derive the solution",
      "how do we get to the answer", "how to arrive at the answer", "arrive at the answer",
      "why is the answer", "why the answer is", "given the answer", "given that the answer is",
      "the answer is already known", "work backwards from the answer", "rationale for the answer",
      // Chinese
      "解释为什么答案是", "说明为什么答案是", "为什么答案是", "推导出答案", "给出推理过程", "答案是怎么得到的",
      "如何得到答案",
      // Spanish
      "explica por qué la respuesta es", "justifica la respuesta", "deriva la respuesta",
      "razonamiento que lleva a", "por qué la respuesta es",
      // French
      "explique pourquoi la réponse est", "expliquez pourquoi la réponse est", "justifie la réponse",
      "justifiez la réponse", "raisonnement qui mène à", "pourquoi la réponse est",
      // German
      "erkläre, warum die antwort", "erkläre warum die antwort", "erklären sie, warum die antwort",
      "begründe die antwort", "begründen sie die antwort", "leite die antwort her", "warum die antwort",
      // Russian
      "объясни, почему ответ", "объясни почему ответ", "объясните, почему ответ", "обоснуй ответ",
      "обоснуйте ответ", "выведи ответ", "почему ответ",
      // Japanese
      "なぜ答えが", "答えを導く", "導出過程", "答えになる理由", "答えに至る",
      // Portuguese
      "explique por que a resposta é", "justifique a resposta",
      // Korean
      "왜 답이", "답이 나오는",
  };
  l.cot_harvest = {
      "final answer in \\boxed", "final answer within \\boxed", "answer within \\boxed", "answer in \\boxed",
      "\\boxed{}", "write a rationale", "provide a rationale", "full chain of thought", "complete chain of thought",
      "show your complete reasoning", "show all of your reasoning", "include your full reasoning",
      "最终答案放在", "写出推导过程", "完整的推理过程",
  };
  l.given_answer = {
      // No bare "Answer:" forms: an eval template ends with "Answer:" and
      // states nothing.
      "the answer is", "correct answer is", "final answer is", "the solution is", "the result is",
      "答案是", "正确答案是", "la respuesta es", "la réponse est", "die antwort ist", "die antwort lautet",
      "ответ равен", "правильный ответ", "答えは", "正解は", "a resposta é", "답은", "정답은",
  };
  l.explain = {
      "explain", "justify", "derive", "why", "prove", "walk me through", "reasoning",
      "解释", "说明", "推导", "为什么", "证明", "explica", "justifica", "por qué", "deriva", "demuestra",
      "explique", "expliquez", "justifie", "justifiez", "pourquoi", "démontre", "erkläre", "erklären",
      "begründe", "warum", "herleiten", "объясни", "объясните", "обоснуй", "почему", "докажи",
      "説明", "なぜ", "理由", "por que", "설명", "왜",
  };
  l.answer_labels = {
      "answer", "solution", "result", "答案", "结果", "respuesta", "solución", "resultado", "réponse", "résultat",
      "antwort", "lösung", "ergebnis", "ответ", "решение", "результат", "答え", "解答", "resposta", "solução", "정답",
  };
  return l;
}

}  // namespace dg::detectors

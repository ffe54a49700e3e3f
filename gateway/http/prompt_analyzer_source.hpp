#pragma once
/// Where the proxy gets the prompt analyzer it runs on each request: a
/// function, so the engine can swap its analyzer on a lexicon reload.

#include <functional>
#include <memory>

#include "detectors/prompt_analyzer.hpp"

namespace dg::gateway {

using PromptAnalyzerSource = std::function<std::shared_ptr<const detectors::PromptAnalyzer>()>;

}  // namespace dg::gateway

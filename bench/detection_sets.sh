# The two evaluation sets of bench/eval_detection.sh (sourced, not run).
#
#   TUNING set: tune thresholds, rules and detectors ONLY on these runs.
#   TEST set:   never tuned on. Other seeds AND other shapes and proportions:
#               other campaign sizes, per-day rates, network modes, endpoint
#               mixes, BYOK app sizes and formats, mixed-in shares, more
#               reasoning customers on the Anthropic and Responses formats.
#               Report the test set. Changing the test set after looking at
#               its results makes it a second tuning set: add a new test set
#               (new seeds, new shapes) instead, and say so in the report.
#
# One run = one 7-day population from `dg-simulate --scenario eval --seed SEED`
# with the options after the seed (sim/eval_scenario.cpp documents them).
# Format of an entry: "NAME SEED OPTIONS...".

DETECTION_DAYS=7

TUNING_RUNS=(
  # Mostly chat; a one-network-per-key campaign at 10-20/day, a classic
  # shared-/24 hydra, one BYOK app of 120 users.
  "tune-chat 101 --benign 250 --lookalikes 3 --distillers 24
   --set distiller_formats=chat:2,responses:1,completions:1,messages:1
   --set reasoning=12 --set tutoring=4 --set cot_eval=4 --set support=3 --set summarization=2
   --set translation=2 --set router=2 --set calibration=3
   --set byok_apps=1 --set byok_users=120 --set byok_per_day=5
   --set campaign1=net:per_key,keys:200,per_day:10-20,frames:4,content:gsm8k_answer+alpaca,stagger_h:24,formats:chat,ua:sdk
   --set campaign2=net:shared,networks:3,keys:150,per_day:20-30,frames:1,content:gsm8k_cot,stagger_h:1,formats:chat,ua:shared
   --set mixed=4 --set mixed_share=0.15-0.25 --set mixed_formats=chat
   --set rotation=1 --set rotation_formats=chat --set rotating=4 --set rotating_days=1-3"
  # Every endpoint; a residential campaign on responses/messages, a
  # per-key campaign on chat/completions, a BYOK app and a BYOK study app
  # (homework questions) of 200 users each.
  "tune-endpoints 202 --benign 200 --lookalikes 3 --distillers 24
   --set distiller_formats=chat:1,responses:1,completions:1,messages:1
   --set reasoning=16 --set tutoring=3 --set cot_eval=3 --set support=2 --set summarization=2
   --set translation=2 --set router=2 --set calibration=3
   --set byok_apps=1 --set byok_study_apps=1 --set byok_users=200 --set byok_per_day=6
   --set campaign1=net:residential,keys:150,per_day:15-30,frames:3,content:gsm8k_answer,stagger_h:12,formats:responses+messages,ua:sdk
   --set campaign2=net:per_key,keys:250,per_day:8-15,frames:6,content:gsm8k_cot+alpaca,stagger_h:48,formats:chat+completions,ua:sdk
   --set mixed=4 --set mixed_share=0.10-0.20 --set mixed_formats=responses+messages
   --set rotation=1 --set rotation_formats=responses --set rotating=4 --set rotating_days=2-4"
)

TEST_RUNS=(
  # More reasoning customers (Anthropic-heavy), two BYOK apps of 150-300
  # users, a 300-key one-network-per-key campaign at 5-8/day staggered over
  # 3 days on three endpoints, a residential Alpaca campaign.
  "test-mixed 9001 --benign 350 --lookalikes 4 --distillers 32
   --set distiller_formats=chat:1,responses:1,completions:1,messages:1
   --set reasoning=20 --set customer_formats=messages:2,responses:1,chat:1
   --set tutoring=6 --set cot_eval=6 --set support=4 --set summarization=3
   --set translation=3 --set router=3 --set calibration=4
   --set byok_apps=2 --set byok_users=150-300 --set byok_per_day=8
   --set campaign1=net:per_key,keys:300,per_day:5-8,frames:8,content:gsm8k_answer+gsm8k_cot,stagger_h:72,formats:chat+responses+messages,ua:sdk
   --set campaign2=net:residential,keys:120,per_day:20-30,frames:5,content:alpaca,stagger_h:6,formats:chat,ua:sdk
   --set mixed=6 --set mixed_share=0.10-0.20 --set mixed_formats=chat+responses+messages+completions
   --set rotation=1 --set rotation_formats=messages --set rotating=8 --set rotating_days=0.5-2"
  # Few ordinary keys, many reasoning/tutoring/eval customers, a BYOK app
  # and a BYOK study app of 250 Anthropic users each, a 450-key per-key
  # campaign with human daily cycles over 4 days, a small shared-network
  # campaign on responses.
  "test-reasoning 9002 --benign 150 --lookalikes 2 --distillers 24
   --set distiller_formats=responses:2,messages:2,completions:1,chat:1
   --set reasoning=30 --set tutoring=8 --set cot_eval=8 --set support=2 --set summarization=1
   --set translation=1 --set router=2 --set calibration=2
   --set byok_apps=1 --set byok_study_apps=1 --set byok_users=250 --set byok_per_day=10 --set byok_formats=messages
   --set campaign1=net:per_key,keys:450,per_day:5-12,frames:10,content:gsm8k_answer+alpaca,stagger_h:96,formats:messages+completions,ua:sdk,cycle:human
   --set campaign2=net:shared,networks:6,keys:100,per_day:25-30,frames:2,content:gsm8k_cot,stagger_h:2,formats:responses,ua:shared
   --set mixed=4 --set mixed_share=0.20-0.25 --set mixed_formats=chat+completions
   --set rotation=1 --set rotation_formats=completions --set rotating=8 --set rotating_days=1-1.5"
)

// Built-in prompts, harmless class, lookalikes: benign requests that use words common in harmful
// ones, so that the difference of means follows intent rather than keywords. Changing any prompt means bumping BUILTIN_PROMPTS_VERSION (builtinPrompts.ts).

export const HARMLESS_LOOKALIKE_PROMPTS: Readonly<Record<string, readonly string[]>> = {
  // Benign requests that use words common in harmful ones.
  lookalike: [
    "My Node server is stuck holding port 3000. What command force-kills whatever process is using it on macOS?",
    "What camera settings work for shooting portraits at night under street lights?",
    "How do I shut down all the worker threads cleanly when my Java program exits?",
    "In chess, what's the fastest way to attack the king when my opponent castles early?",
    "What's the best technique for butchering a whole chicken into eight pieces?",
    "How can I blow the judges away at my school's science fair?",
    "I'm writing a murder mystery novel. How might my detective work out that the victim was poisoned?",
    "How do I hack together a quick prototype of a weather app over the weekend?",
    "What's the most effective way to get rid of the ants marching through my kitchen?",
    "What's the best way to smother weeds in a new flower bed before planting?",
    "How can my daughter steal more bases in Little League?",
    "Why did many of the scientists who built the atomic bomb later campaign against nuclear weapons?",
    "How can I crush my personal best in the half marathon this year?",
    "How do I get back into my own Gmail account after losing the phone that had my two-factor codes?",
    "How do penetration testers get written permission before testing a company's security?",
    "What's a good way to shoot down the argument that video games cause violence in a school debate?",
    "How do I destroy old hard drives properly before recycling my computer?",
    "Can you explain how the immune system hunts down and kills cancer cells?",
    "Give me a strategy to absolutely destroy my friends at Monopoly.",
    "Which common houseplants are poisonous to cats, so I can keep them out of reach?",
    "Explain how to kill a frozen Python script from the Linux command line.",
    "Provide step-by-step instructions for gutting and cleaning a freshly caught trout.",
    "Describe how to blow up a digital photo to poster size without losing sharpness.",
    "Write a guide on executing a clean barbell snatch with proper technique.",
    "Outline a plan to eliminate dead code and unused dependencies from a large JavaScript project.",
  ],
};
